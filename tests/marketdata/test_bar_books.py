"""A recorded bar carries the book sampled at its close (``bids``/``asks`` columns): the backtest
hands it to the strategy, so an OBI gate decides on the same book as in the session, while the
bar's fills stay at the next open. A malformed level is refused with FILE:LINE, exit 2."""

from __future__ import annotations

from pathlib import Path

from runner.marketdata.readers import read_bars
from tests.kit.process import cli as runner

REPO = Path(__file__).resolve().parents[2]
HEAD = "timestamp,open,high,low,close,volume,funding_rate,funding_interval_s,fill_bid,fill_ask,fill_ts,bids,asks\n"
T = 1_700_000_040


def test_a_recorded_bar_hands_its_book_and_fill_time_to_the_backtest(tmp_path: Path) -> None:
    p = tmp_path / "bars.csv"
    p.write_text(HEAD + f"{T},100,101,99,100,1,,,99.5,100.5,{T + 12},99.9:2.0 99.8:0.5,100.1:0.25\n"
                 + f"{T + 60},100,101,99,100.2,1,,,,,,,\n")
    first, second = read_bars(p, "BTC-USD", 60)
    assert (first.bid_prices, first.bid_sizes, first.ask_prices, first.ask_sizes) == ((99.9, 99.8), (2.0, 0.5),
                                                                                      (100.1,), (0.25,))
    assert first.extra["fill_ts"] == T + 12 and first.extra["fill_bid"] == 99.5
    assert second.bid_sizes == () and second.bid_prices == () and "fill_ts" not in second.extra  # a warm-up candle


def test_a_bad_book_level_is_exit_2_with_its_line(tmp_path: Path) -> None:
    p = tmp_path / "bars.csv"
    p.write_text(HEAD + f"{T},100,101,99,100,1,,,,,,99.9:2.0,100.1:0.25\n" + f"{T + 60},100,101,99,100,1,,,,,,99.9,100.1:1\n")
    res = runner(tmp_path, "backtest", str(REPO / "strategies.d" / "MR_v13.yaml"), "--data", str(p))
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{p}:3" in res.stderr and "price:size" in res.stderr
