"""ledger_vs_venue and orphan_orders against a real sim account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.audit.inputs import adapter_factory, gather_venues, read_ledger
from runner.audit.venue_checks import ledger_vs_venue, orphan_orders
from runner.ledger.types import utcnow
from tests.kit.deployment import make_dust
from tests.kit.desk import Desk
from venues.base import OrderRequest, OrderType, Side, TimeInForce


def _run(d: Desk, check):  # type: ignore[no-untyped-def]
    led = read_ledger(d.ledger)
    return check(led, gather_venues(led, d.venues, adapter_factory(d.venues, d.home)))


def _outside(d: Desk, cid: str, qty: str, price: str, tif: TimeInForce = TimeInForce.IOC) -> None:
    ad = adapter_factory(d.venues, d.home)("sim")
    ad.submit(OrderRequest(cid, "BTC-USD", Side.BUY, Decimal(qty), OrderType.LIMIT, Decimal(price), tif))
    ad.close()


def test_ledger_and_venue_agree_after_normal_trading_and_dust(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.05")
    make_dust(d, "MR_v2")
    assert _run(d, ledger_vs_venue) == []


def test_fills_the_runner_has_not_read_yet_are_in_flight_not_missing(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    eng = d.rt.engines["MR_v1"]
    from runner.kinds.base import Intent

    eng.place(Intent("BTC-USD", "buy", "entry", qty=0.05, urgent=True), d.event("BTC-USD"))  # no step: unread
    assert d.position("MR_v1") == 0
    assert _run(d, ledger_vs_venue) == []


def test_venue_exposure_the_ledger_does_not_know_is_critical(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.05")
    _outside(d, "outside-1", "0.01", "31000")
    [f] = _run(d, ledger_vs_venue)
    assert (f.severity.value, f.runbook, f.evidence["difference"]) == ("critical", "ledger-vs-venue", Decimal("0.01"))
    assert f.evidence["variants"] == ["MR_v1"]


def test_a_difference_within_dust_is_tolerated(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.05")
    _outside(d, "outside-2", "0.0002", "31000")
    assert _run(d, ledger_vs_venue) == []


def test_open_venue_order_unknown_to_the_ledger_is_an_orphan(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    _outside(d, "outside-3", "0.01", "29000", TimeInForce.GTC)  # rests below the market
    [f] = _run(d, orphan_orders)
    assert (f.evidence["client_order_id"], f.runbook, f.variant) == ("outside-3", "orphan-orders", None)


def test_ledger_open_order_the_venue_never_saw_is_an_orphan_after_the_grace(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    row = dict(client_order_id="never-sent", run_id="main", variant="MR_v1", seq=99, account="sim",
               instrument="BTC-USD", side="buy", qty=Decimal("0.01"), price=Decimal("29000"), order_type="limit",
               tif="gtc", purpose="entry", group_id=None, reduce_only=False)
    d.ledger.record_order({**row, "created": utcnow()})
    assert _run(d, orphan_orders) == []  # young: may still be in flight
    d.ledger.record_order({**row, "client_order_id": "never-sent-old", "created": utcnow() - timedelta(minutes=5)})
    [f] = _run(d, orphan_orders)
    assert (f.variant, f.evidence["client_order_id"], f.evidence["venue_status"]) == ("MR_v1", "never-sent-old", None)
