"""reconcile: adopt missed fills idempotently, report the unexplained, never send."""

from __future__ import annotations

from decimal import Decimal

from runner.audit.reconcile import reconcile
from runner.audit.run import run_checks
from runner.kinds.base import Intent
from tests.kit.desk import Desk
from venues.base import OrderRequest, OrderType, Side, TimeInForce


def test_missed_fills_are_adopted_once_and_nothing_is_sent(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    eng = d.rt.engines["MR_v1"]
    eng.place(Intent("BTC-USD", "buy", "entry", qty=0.05, urgent=True), d.event("BTC-USD"))
    # The runner lost the fills: its cursor moved past them (e.g. a venue paging bug).
    d.ledger.set_cursor("sim", d.sim.fills(None).cursor)
    assert d.position("MR_v1") == 0
    venue_orders, orders = d.venue_orders(), len(d.ledger.orders())
    res = reconcile(d.ledger, d.venues, d.home)
    assert [f.variant for f in res.adopted] == ["MR_v1"] and res.findings == []
    assert d.position("MR_v1") == Decimal("0.05")
    assert reconcile(d.ledger, d.venues, d.home).adopted == []  # idempotent
    assert (d.venue_orders(), len(d.ledger.orders())) == (venue_orders, orders)
    assert run_checks(d.ledger, d.venues, d.home, ["fills_vs_positions", "ledger_vs_venue"], act=False) == []


def test_fills_of_orders_the_ledger_never_knew_are_reported_not_booked(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.sim.submit(OrderRequest("stranger", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                Decimal("31000"), TimeInForce.IOC))
    res = reconcile(d.ledger, d.venues, d.home)
    assert res.adopted == []
    checks = sorted(f.check for f in res.findings)
    assert checks == ["ledger_vs_venue", "reconcile"]
    assert d.ledger.fills() == []


def test_the_scheduled_reconcile_reads_on_from_its_own_cursor_not_the_whole_history(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.sim.submit(OrderRequest("stranger", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                Decimal("31000"), TimeInForce.IOC))  # a fill of no order of ours
    eng = d.rt.engines["MR_v1"]
    eng.place(Intent("BTC-USD", "buy", "entry", qty=0.05, urgent=True), d.event("BTC-USD"))
    d.ledger.set_cursor("sim", d.sim.fills(None).cursor)  # the runner lost this fill
    first = reconcile(d.ledger, d.venues, d.home, incremental=True)
    assert [f.variant for f in first.adopted] == ["MR_v1"]
    assert [f.evidence["client_order_id"] for f in first.findings if f.check == "reconcile"] == ["stranger"]
    mark = d.ledger.cursor("sim", "reconcile")
    assert mark == d.sim.fills(None).cursor  # where the history it read ends, apart from the runner's
    eng.place(Intent("BTC-USD", "buy", "entry", qty=0.02, urgent=True), d.event("BTC-USD"))
    d.ledger.set_cursor("sim", d.sim.fills(mark).cursor)  # this one is missed too
    second = reconcile(d.ledger, d.venues, d.home, incremental=True)
    assert [(f.variant, f.qty) for f in second.adopted] == [("MR_v1", Decimal("0.02"))]
    # the stranger's fill lies before the cursor: not read again (the whole history would have it)
    assert [f for f in second.findings if f.check == "reconcile"] == []
    assert any(f.check == "reconcile" for f in reconcile(d.ledger, d.venues, d.home).findings)  # a full read does
    assert d.position("MR_v1") == Decimal("0.07")
