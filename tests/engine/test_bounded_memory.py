"""A runner trades for weeks: what it remembers per order is a bounded cache, never the truth.

An order that fell out of the runtime's owner cache still gets its late fill routed to the
right variant (through the ledger's order row), and market-making quote ids are forgotten
once closed but never while the quote still rests.
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
