"""Each shipped sample backtests on generated data and reports its kind-specific lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import gen_data
from runner.engine.backtest import bind_streams, run_backtest
from runner.ledger.store import Ledger
from runner.marketdata.readers import read_binary_books, read_funding
from runner.spec.load import load_variant

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    gen_data.main(["all", str(d), "--n", "800", "--rounds", "6"])
    return d


def backtest(tmp_path: Path, sample: str, data: list[str]):  # type: ignore[no-untyped-def]
    loaded = load_variant(REPO / "strategies.d" / sample)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        return run_backtest(loaded, bind_streams(loaded, data), ledger), ledger
    finally:
        ledger.close()


def test_market_making_reports_volume_quoted_and_filled_and_the_inventory_range(tmp_path: Path, data: Path) -> None:
    result, _ = backtest(tmp_path, "MMTV_v3.yaml", [str(data / "eth_books.jsonl")])
    x = result.extra
    assert x["volume_quoted"] > x["volume_filled"] > 0
    lo, hi = x["inventory_range"]["ETH-USD"]
    assert lo <= 0 <= hi and hi - lo > 0


def test_funding_arb_reports_funding_earned_fees_and_net(tmp_path: Path, data: Path) -> None:
    result, _ = backtest(tmp_path, "funding-arb_v1.yaml", [
        f"BTC-USD={data / 'btc_spot_1m.csv'}", f"BTC-PERP={data / 'btc_perp_1m.csv'}",
        f"BTC-PERP={data / 'btc_funding.csv'}"])
    x = result.extra
    assert x["funding_earned"] > 0 and x["trading_fees"] > 0
    assert result.metrics["trades"] >= 2  # pairs opened and closed: two legs each
    assert set(x) == {"funding_earned", "trading_fees", "net_pnl"}


def test_kalshi_sum_reports_pairs_orphans_and_settled_pnl(tmp_path: Path, data: Path) -> None:
    result, _ = backtest(tmp_path, "Kalshi-sum_v1.yaml", [str(data / "kalshi_books.jsonl")])
    x = result.extra
    # legs fill on the book after the one that showed the gap: a gap that closes in between
    # leaves an orphan leg (counted, and flattened by the next sweep), as it would live
    assert x["pairs"] > x["orphans"] > 0 and x["settled_pnl"] > 0


def test_generated_binary_books_and_funding_read_back_with_settlement_facts(data: Path) -> None:
    rows = list(read_binary_books(data / "kalshi_books.jsonl"))
    first = rows[0]
    assert first.extra["yes_ask"] == 100 - first.extra["no_bid"]
    settled = [r for r in rows if "settled_yes" in r.extra]
    assert settled and {r.extra["settled_yes"] for r in settled} <= {0.0, 100.0}
    f = next(read_funding(data / "btc_funding.csv", "BTC-PERP"))
    assert f.bid == 0 and f.extra["funding_settled_rate"] == f.extra["funding_rate"]
