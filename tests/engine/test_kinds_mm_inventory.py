"""market_making never holds more than max_inventory, however its quotes fill: the whole engine
(requote, cancel/replace, maker fills) on a backtest of books, the position rebuilt from the fills."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bench import gen_data
from runner.engine.backtest import bind_streams, run_backtest
from runner.ledger.store import Ledger
from runner.spec.load import load_variant

VARIANT = """\
name: MMINV
version: 1
kind: market_making
venue: sim
mode: backtest
instruments: [ETH-USD]
params: {half_spread_bps: 1, min_size: 0.3, max_size: 0.7, volume_window: 3, volume_ref: 1,
         max_inventory: 1.0, skew: 0.0, reprice_bps: 0, min_replace_s: 0, refresh_s: 1}
execution: {style: maker}
risk: {max_order_notional: 100000, max_position_notional: 100000, max_daily_loss: 100000}
"""


def test_the_position_never_exceeds_max_inventory_through_the_engine(tmp_path: Path) -> None:
    books = tmp_path / "eth_books.jsonl"
    gen_data.main(["books", str(books), "--n", "600", "--mu", "2000"])
    path = tmp_path / "MMINV_v1.yaml"
    path.write_text(VARIANT)
    loaded = load_variant(path)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        result = run_backtest(loaded, bind_streams(loaded, [str(books)]), ledger)
        fills = sorted(ledger.fills(result.run_id, limit=None), key=lambda f: (f.ts, f.id))
    finally:
        ledger.close()
    assert len(fills) > 20  # it did make markets
    pos, peak = Decimal(0), Decimal(0)
    for f in fills:
        pos += f.qty if f.side == "buy" else -f.qty
        peak = max(peak, abs(pos))
    assert peak <= Decimal("1.0"), f"held {peak}"
    assert peak >= Decimal("0.7")  # and it did reach the bound's neighbourhood
