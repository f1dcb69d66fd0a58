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
    # the stranger's fill lies before the cursor: not read again (the whole history would have
    # it), and its finding is carried, not closed: nothing showed it gone (issue 12)
    assert [f.evidence["client_order_id"] for f in second.carried] == ["stranger"]
    assert [f.evidence["client_order_id"] for f in second.seen_now() if f.check == "reconcile"] == []
    assert any(f.check == "reconcile" for f in reconcile(d.ledger, d.venues, d.home).findings)  # a full read does
    assert d.position("MR_v1") == Decimal("0.07")


def _open_stranger(d: Desk) -> list[int]:
    from runner.audit import store

    return [r.seen for r in store.open_findings(d.ledger, "reconcile") if "stranger" in r.evidence]


def test_an_unknown_fill_stays_open_across_incremental_cycles_until_booked_or_a_full_read_misses_it(tmp_path) -> None:
    """Issue 12: the incremental cycle never reads the stranger's fill again; its finding used
    to close on the next cycle, as though the fill were gone. It stays open (seen each cycle)
    until a reading confirms the condition gone."""
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.sim.submit(OrderRequest("stranger", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                Decimal("31000"), TimeInForce.IOC))
    reconcile(d.ledger, d.venues, d.home, incremental=True)
    assert _open_stranger(d) == [1]
    for n in (2, 3):
        reconcile(d.ledger, d.venues, d.home, incremental=True)
        assert _open_stranger(d) == [n], "not read again, not closed"
    reconcile(d.ledger, d.venues, d.home)  # a full read still shows it: still open
    assert _open_stranger(d) == [4]


def _when(ts):  # type: ignore[no-untyped-def]
    from runner.ledger.types import from_epoch

    return ts if not isinstance(ts, int | float) else from_epoch(ts)


def test_an_unknown_fill_closes_once_the_ledger_books_it(tmp_path) -> None:
    from runner.ledger.models import MAIN_RUN
    from runner.ledger.store import NewFill

    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.sim.submit(OrderRequest("stranger", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                Decimal("31000"), TimeInForce.IOC))
    first = reconcile(d.ledger, d.venues, d.home, incremental=True)
    f = next(f for f in first.findings if f.check == "reconcile")
    # the operator books it by hand (a manual trade adopted into a variant): the condition is gone
    d.ledger.apply_fills([NewFill(f.evidence["subject"][len("fill:"):], None, MAIN_RUN, "MR_v1", "sim", "BTC-USD",
                                  "buy", Decimal("0.01"), Decimal(str(f.evidence["price"])), Decimal(0),
                                  _when(f.evidence["ts"]), "taker", None, "adopted")])
    reconcile(d.ledger, d.venues, d.home, incremental=True)
    assert _open_stranger(d) == []


def test_an_orphan_order_stays_open_while_its_account_cannot_be_read(tmp_path) -> None:
    """An open venue order the ledger does not know: a cycle whose read of the account was
    refused (our own budget, a venue outage) says nothing about it and must not close it."""
    from runner.audit import store
    from runner.errors import BudgetError

    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.sim.submit(OrderRequest("stray", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                Decimal("29000"), TimeInForce.GTC))
    adapters: dict = {}  # type: ignore[type-arg]
    reconcile(d.ledger, d.venues, d.home, incremental=True, adapters=adapters)
    assert [r.key for r in store.open_findings(d.ledger, "orphan_orders")] == ["orphan_orders|*|venue:stray"]
    ad = adapters["sim"]
    real = ad.open_orders

    def refused():  # type: ignore[no-untyped-def]
        raise BudgetError("sim: request budget 'rest' spent; retry in 1s", venue="sim", retry_after=1.0)

    ad.open_orders = refused
    res = reconcile(d.ledger, d.venues, d.home, incremental=True, adapters=adapters)
    assert any(f.evidence.get("subject") == "sim:budget" for f in res.findings)
    assert "orphan_orders|*|venue:stray" in [r.key for r in store.open_findings(d.ledger, "orphan_orders")]
    ad.open_orders = real
    d.sim.cancel("stray", "BTC-USD")  # gone from the venue: the next reading closes it
    reconcile(d.ledger, d.venues, d.home, incremental=True, adapters=adapters)
    assert store.open_findings(d.ledger, "orphan_orders") == []
