"""A runner thawed past its lease touches nothing on the venue: no cancel, no flatten, no order.

Orders were fenced already (the token checked in the write's transaction, the lease confirmed
again before the send). Every other venue action of a variant goes through the same check
(``VariantEngine.cancel`` -> ``ImmediateSink.confirm`` -> ``Ledger.confirm_fence``): a
blackout's cancel of resting entries, a requote's or the maker watchdog's cancel, a retire's
cancels and flatten, the cancels of a clean stop. Without it, a runner frozen past its lease
(SIGSTOP, a paused VM) cancels on its thaw, from an account thread that runs before its control
thread finds the lease gone, the orders the new owner adopted and manages.

Two real runtimes on one ledger (SQLite and PostgreSQL) and one sim venue; the first holds a
resting order, stalls past its lease, the second takes the variant over (adopting the order by
client id); then each of the first one's paths is walked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from runner.engine.client_ids import client_order_id
from runner.engine.runtime import Runtime
from runner.errors import FencedError
from runner.kinds.base import Intent, MarketEvent
from runner.ledger.store import Ledger
from tests.kit.home import drive, make_home, mr_yaml
from tests.kit.process import wait_for
from tests.kit.runner_time import wait_lease_lapsed
from venues.base import OrderRequest, OrderType, Side, TimeInForce

TAKER_LEASE_S = 120  # the taker's lease outlives the test


def _sim_orders(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / "state" / "sim" / "sim.db") as venue:
        return int(venue.execute("SELECT COUNT(*) FROM orders").fetchone()[0])


def _rest(rt: Runtime) -> str:
    """A resting buy below the bid, sent by the variant's own engine; its client id."""
    eng, sim = rt.engines["MR_v13"], rt.adapters["sim"]
    bid = Decimal(repr(sim.book("BTC-USD").bids[0][0]))
    cid = client_order_id(eng.run_id, eng.id, eng._seq, eng.cid_salt)
    rep = eng.send(sim.prepare(OrderRequest(cid, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                            bid * Decimal("0.97"), TimeInForce.GTC)), "entry")
    assert rep is not None and rep.status.is_open
    return cid


def _take_over(tmp_path: Path, db: str, request: pytest.FixtureRequest,
               before: Callable[[Runtime], str | None]) -> tuple[Path, Runtime, Runtime]:
    """``a`` trades MR_v13 and does ``before``; it stalls past its lease and ``b`` takes the
    variant over (adopting ``before``'s resting order, if any, by client id); then ``a``'s own
    clock says its lease ran out, as on a thaw."""
    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    h = make_home(tmp_path, runner_yaml="lease_ttl_s: 1.5\n")
    h.add_variant("MR_v13.yaml", mr_yaml(entry_z=50))  # never enters by itself: only our orders
    a = h.runtime(Ledger(url))
    a.start()
    drive(a, 3)
    cid = before(a)
    b = h.runtime(Ledger(url), lease_ttl_s=TAKER_LEASE_S)
    b.start()
    wait_lease_lapsed(b.ledger, "MR_v13", a.runner_id)  # a stalls past its lease...
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)  # ...and b takes the variant over
    assert list(b.engines) == ["MR_v13"] and (cid is None or cid in b.engines["MR_v13"].working)
    fence = a.ledger.fences["MR_v13"]
    wait_for(lambda: time.monotonic() >= fence.valid_until)  # a's own clock says its lease ran out
    return h.path, a, b


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_runner_thawed_past_its_lease_cancels_nothing_and_places_nothing(
        tmp_path: Path, db: str, request: pytest.FixtureRequest) -> None:
    home, a, b = _take_over(tmp_path, db, request, _rest)
    eng = a.engines["MR_v13"]
    [cid] = list(eng.working)
    venue = b.adapters["sim"]
    sent = _sim_orders(home)

    def still_resting() -> bool:
        rep = venue.order(cid, "BTC-USD")
        return rep is not None and rep.status.is_open

    # the thaw: a's account thread runs its chores before its control thread renews
    a.chores.blackout({"sim"})  # a blackout's cancel of resting entries (the first to find out)
    assert eng.fenced and "cancel of" in eng.fenced and still_resting()
    with pytest.raises(FencedError):  # a requote's / the maker watchdog's cancel
        eng._cancel(cid)
    assert eng.troubles == [] and still_resting()  # not the variant's trouble: the runtime lets go
    with pytest.raises(FencedError):  # every cancel of a retire or a stop
        eng.cancel_all()
    assert still_resting()
    eng.fenced = None
    a.responder.retire_step(eng, time.time())  # retiring: cancels first
    assert eng.fenced and still_resting()
    a.chores.cancel_on_stop("sim")  # a clean stop's cancels
    assert still_resting()
    # and no order either, though the lease was found lost on an earlier call (no fence left to check)
    orders = len(a.ledger.orders(variant="MR_v13", limit=1000))
    book = venue.book("BTC-USD")
    with pytest.raises(FencedError, match="order not recorded"):
        eng.place(Intent("BTC-USD", "sell", "flatten", qty=0.01, urgent=True),
                  MarketEvent(book.ts, "BTC-USD", book.bids[0][0], book.asks[0][0]))
    assert len(a.ledger.orders(variant="MR_v13", limit=1000)) == orders
    assert _sim_orders(home) == sent  # the venue heard nothing from a
    a.step()
    assert list(a.engines) == []  # the thawed runner let go
    # the new owner manages the order still: it cancels it itself
    b.engines["MR_v13"].cancel_all()
    assert not still_resting()
    b.stop()
    a.stop()


def _hold(rt: Runtime) -> None:
    """A position, from an IOC that takes at once (nothing left working)."""
    eng, sim = rt.engines["MR_v13"], rt.adapters["sim"]
    ask = Decimal(repr(sim.book("BTC-USD").asks[0][0]))
    cid = client_order_id(eng.run_id, eng.id, eng._seq, eng.cid_salt)
    rep = eng.send(sim.prepare(OrderRequest(cid, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                            ask * Decimal("1.01"), TimeInForce.IOC)), "entry")
    assert rep is not None and rep.filled_qty == Decimal("0.01")
    rt.trading.fills("sim")
    assert eng.positions["BTC-USD"].qty == Decimal("0.01") and not eng.working


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_runner_thawed_past_its_lease_does_not_flatten_a_variant_it_was_retiring(
        tmp_path: Path, db: str, request: pytest.FixtureRequest) -> None:
    home, a, b = _take_over(tmp_path, db, request, lambda rt: _hold(rt))
    eng = a.engines["MR_v13"]
    sent, orders = _sim_orders(home), len(a.ledger.orders(variant="MR_v13", limit=1000))
    a.responder.retire_step(eng, time.time())  # its retire's next step: the flatten
    assert eng.fenced and "order not recorded" in eng.fenced
    assert len(a.ledger.orders(variant="MR_v13", limit=1000)) == orders and _sim_orders(home) == sent
    a.step()
    assert list(a.engines) == []
    assert b.engines["MR_v13"].positions["BTC-USD"].qty == Decimal("0.01")  # the new owner holds it still
    b.stop()
    a.stop()
