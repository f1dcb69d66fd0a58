"""Late fills, and what a long-running runner remembers per order (a bounded cache, never the truth).

A fill for an order that fell out of the runtime's owner cache still reaches the right variant
(through the ledger's order row); a fill after the venue cancelled the order stands and the
order's history says so; market-making quote ids are forgotten once closed, never while the
quote still rests.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.engine import runtime
from runner.engine.kind_stats import QUOTES_KEPT, KindStats
from tests.kit.desk import Desk, variant_yaml


def test_a_late_fill_for_an_order_older_than_the_owner_cache_reaches_its_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "OWNER_CACHE", 8)
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13", style="maker"),
                           "MR_v14": variant_yaml("MR_v14", style="maker")}).start()
    try:
        resting = desk.place("MR_v13", "buy", 0.01, price=desk.mid() * 0.99)
        assert resting is not None and resting.status.is_open
        for _ in range(12):  # the other variant trades: MR_v13's order leaves the cache
            desk.place("MR_v14", "buy", 0.01, price=desk.mid() * 0.99)
        assert resting.client_order_id not in desk.rt.owner and len(desk.rt.owner) <= 8
        desk.venue_fills(resting, "0.01", status="filled")
        desk.step(2)
        fills = desk.ledger.fills(limit=None)
        (late,) = [f for f in fills if f.client_order_id == resting.client_order_id]
        assert late.variant == "MR_v13" and late.qty == Decimal("0.01")
        assert resting.client_order_id not in desk.engine("MR_v13").working  # its engine applied it...
        assert [f.side for f in fills if f.variant == "MR_v13"] == ["buy", "sell"]  # ...and managed the position
        assert all(f.side == "buy" for f in fills if f.variant == "MR_v14")
    finally:
        desk.close()


def test_quote_ids_are_bounded_but_a_resting_quote_keeps_its_id() -> None:
    stats = KindStats()
    stats.on_quote("resting", Decimal(1))
    for n in range(QUOTES_KEPT * 3):
        stats.on_quote(f"q{n}", Decimal(1), working={"resting"})
    assert len(stats.quote_cids) <= QUOTES_KEPT + 1
    assert "resting" in stats.quote_cids and "q0" not in stats.quote_cids
    assert stats.quoted == QUOTES_KEPT * 3 + 1


def test_a_fill_after_the_venue_cancelled_the_order_stands_and_the_order_says_so(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13", style="maker")}).start()
    try:
        rep = desk.place("MR_v13", "buy", 0.01, price=desk.mid() * 0.99)
        assert rep is not None and rep.status.is_open
        assert desk.engine("MR_v13")._cancel(rep.client_order_id)
        assert desk.ledger.order_status(rep.client_order_id) == "cancelled"
        desk.venue_fills(rep, "0.01")  # the venue fills it after acknowledging the cancel
        desk.step(2)
        assert desk.ledger.order_status(rep.client_order_id) == "filled_after_cancelled"
        (late,) = [f for f in desk.ledger.fills(limit=None) if f.client_order_id == rep.client_order_id]
        assert late.variant == "MR_v13" and late.qty == Decimal("0.01")
        other = desk.place("MR_v13", "sell", 0.01, price=desk.mid() * 1.01)  # an order closed normally...
        assert other is not None
        desk.engine("MR_v13")._cancel(other.client_order_id)
        desk.step(2)
        assert desk.ledger.order_status(other.client_order_id) == "cancelled"  # ...keeps its status
    finally:
        desk.close()
