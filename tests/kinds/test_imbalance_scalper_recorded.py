"""imbalance_scalper on real Binance book tickers: the shipped sample's entries fill.

The old default priced an entry IOC at our own side of the touch (buy at the bid), which a
one-cent spread never fills: 52,449 orders and no fill on these quotes.
"""

from __future__ import annotations

from pathlib import Path

from runner.engine.backtest import bind_streams, run_backtest
from runner.ledger.store import Ledger
from runner.spec.load import load_variant

REPO = Path(__file__).resolve().parents[2]
QUOTES = REPO / "tests" / "data" / "binance_btcusdt_bookticker_120.csv"


def backtest(tmp_path: Path, text: str | None = None):  # type: ignore[no-untyped-def]
    path = REPO / "strategies.d" / "imbalance-scalper_v1.yaml"
    if text is not None:
        path = tmp_path / "imbalance-scalper_v1.yaml"
        path.write_text(text)
    loaded = load_variant(path)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        result = run_backtest(loaded, bind_streams(loaded, [str(QUOTES)]), ledger)
        orders = ledger.orders(result.run_id, limit=10_000)
        return result, orders
    finally:
        ledger.close()


def test_the_sample_crosses_as_taker_and_its_entries_fill_on_real_quotes(tmp_path: Path) -> None:
    result, orders = backtest(tmp_path)
    entries = [o for o in orders if o.purpose == "entry"]
    assert entries and all(o.tif == "ioc" for o in entries)
    assert result.fills > 0 and result.metrics["trades"] >= 1
    for o in entries:  # crossed: a buy is priced at or above the ask of its event, capped at 5 bp
        assert o.price is not None and o.price > 61_000


def test_under_the_maker_style_entries_join_the_touch_post_only(tmp_path: Path) -> None:
    text = (REPO / "strategies.d" / "imbalance-scalper_v1.yaml").read_text().replace("style: taker", "style: maker")
    _result, orders = backtest(tmp_path, text)
    entries = [o for o in orders if o.purpose == "entry"]
    assert entries and all(o.tif == "post_only" for o in entries)


def test_the_shipped_sample_trades_on_the_sim_venue_through_the_runtime(tmp_path: Path) -> None:
    from tests.kit.desk import Desk

    sample = (REPO / "strategies.d" / "imbalance-scalper_v1.yaml").read_text()
    desk = Desk(tmp_path, {"imbalance-scalper_v1": sample}).start(steps=2)
    try:
        desk.step(60)
        fills = desk.ledger.fills(variant="imbalance-scalper_v1")
        assert fills, f"no fill; skips: {desk.ledger.skips(variant='imbalance-scalper_v1')}"
        assert desk.state("imbalance-scalper_v1") == "active"
    finally:
        desk.close()
