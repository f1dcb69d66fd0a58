"""Two variants on one instrument of one account: the venue holds one position for both.

Against the sim, which judges reduce-only against the account's position as Hyperliquid does
(MR_v13 and an imbalance scalper on BTC had their exits refused against the stand-in), each
variant's exit goes through: reduce-only only while it owns the whole venue position.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.errors import RejectedError
from runner.kinds.base import Intent
from tests.kit.desk import Desk
from venues.base import OrderRequest, OrderType, Side, TimeInForce


def _exit(d: Desk, vid: str) -> str:
    eng = d.rt.engines[vid]
    rep = eng.place(Intent("BTC-USD", "sell" if eng.positions["BTC-USD"].qty > 0 else "buy", "exit", close=True,
                           urgent=True), d.event("BTC-USD"))
    assert rep is not None, eng.last_error
    d.step()
    return rep.client_order_id


def test_an_exit_goes_through_while_another_variant_holds_the_other_side(tmp_path: Path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",)})
    try:
        for vid in ("MR_v1", "MR_v2"):
            d.rt.engines[vid].strategy.on_event = lambda ev, views: "held_by_test"  # type: ignore[method-assign]
        d.trade("MR_v1", "buy", "0.0100")
        d.trade("MR_v2", "sell", "0.0200")
        assert (d.position("MR_v1"), d.position("MR_v2")) == (Decimal("0.0100"), Decimal("-0.0200"))
        sim = d.sim
        assert sim.store.position("BTC-USD")[0] == Decimal("-0.0100")  # one venue position for both
        bid = Decimal(repr(sim.book("BTC-USD").bids[0][0]))
        with pytest.raises(RejectedError, match="reduce only"):  # what the venue does to a reduce-only exit
            sim.submit(OrderRequest("probe-ro", "BTC-USD", Side.SELL, Decimal("0.0100"), OrderType.LIMIT,
                                    bid * Decimal("0.99"), TimeInForce.IOC, reduce_only=True))
        cid = _exit(d, "MR_v1")
        row = d.ledger.order_row(cid)
        assert row is not None and not row.reduce_only and d.ledger.order_status(cid) == "filled"
        assert d.position("MR_v1") == 0 and d.rt.engines["MR_v1"].state.value == "active"  # no rejection
        assert d.position("MR_v2") == Decimal("-0.0200") == sim.store.position("BTC-USD")[0]
        cid = _exit(d, "MR_v2")  # now the only holder: reduce-only again, and it fits the venue position
        row = d.ledger.order_row(cid)
        assert row is not None and row.reduce_only and d.ledger.order_status(cid) == "filled"
        assert d.position("MR_v2") == 0 == sim.store.position("BTC-USD")[0]
    finally:
        d.close()
