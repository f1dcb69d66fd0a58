"""A clean stop (Ctrl-C, SIGTERM, --duration) cancels the variants' resting orders unless the
account says ``on_stop: leave`` (SPEC, Orders). Seen on the Hyperliquid stand-in: a market
maker's quote left resting after ``--duration`` filled later with nobody managing it.
Real runtime, engine, ledger and sim."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.engine.client_ids import client_order_id
from tests.kit.home import drive, make_home, mr_yaml
from venues.base import OrderRequest, OrderType, Side, TimeInForce


@pytest.mark.parametrize("on_stop", ["cancel", "leave"])
def test_a_clean_stop_cancels_resting_orders_unless_the_account_leaves_them(tmp_path: Path, on_stop: str) -> None:
    venues = f"sim:\n  adapter: sim\n  seed: 7\n  clock: manual\n  on_stop: {on_stop}\n"
    home = make_home(tmp_path / "desk", venues, variants={"MR_v13": mr_yaml()})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    rt.start()
    drive(rt, 3)
    eng, sim = rt.engines["MR_v13"], rt.adapters["sim"]
    bid = Decimal(repr(sim.book("BTC-USD").bids[0][0]))
    cid = client_order_id(eng.run_id, eng.id, eng._seq, eng.cid_salt)
    rep = eng.send(sim.prepare(OrderRequest(cid, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                            bid * Decimal("0.99"), TimeInForce.GTC)), "entry")  # rests below the bid
    assert rep is not None and rep.status.is_open
    rt.stop(clean=True)
    again = home.runtime(ledger)  # the venue's own view, from a fresh adapter on the sim's store
    try:
        on_venue = again.adapter("sim").order(rep.client_order_id, "BTC-USD")
        assert on_venue is not None
        if on_stop == "cancel":
            assert ledger.order_status(rep.client_order_id) == "cancelled" and not on_venue.status.is_open
        else:
            assert ledger.order_status(rep.client_order_id) == "new" and on_venue.status.is_open
    finally:
        again.stop()
        ledger.close()


def test_a_clean_stop_books_what_filled_before_it(tmp_path: Path) -> None:
    """Seen on the Hyperliquid stand-in: an IOC sent in the last step filled, the runner stopped
    before reading the fill, and the ledger was one fill behind the venue until the next start."""
    home = make_home(tmp_path / "desk", variants={"MR_v13": mr_yaml()})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    rt.start()
    drive(rt, 3)
    eng, sim = rt.engines["MR_v13"], rt.adapters["sim"]
    ask = Decimal(repr(sim.book("BTC-USD").asks[0][0]))
    cid = client_order_id(eng.run_id, eng.id, eng._seq, eng.cid_salt)
    rep = eng.send(sim.prepare(OrderRequest(cid, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                            ask * Decimal("1.01"), TimeInForce.IOC)), "entry")  # takes at once
    assert rep is not None and rep.filled_qty == Decimal("0.01")
    rt.stop(clean=True)
    assert sum(f.qty for f in ledger.fills(variant="MR_v13") if f.client_order_id == cid) == Decimal("0.01")
