"""Streaming backtest metrics equal the same numbers computed from the whole equity curve."""

from __future__ import annotations

import math
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.engine.metrics import EquityStats

STEP = 6 * 3600.0  # four bars a day: 200 bars are 50 days


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(min_value=-0.01, max_value=0.01)), min_size=3, max_size=200))
def test_streaming_stats_match_a_direct_computation(steps: list[tuple[bool, float]]) -> None:
    capital = 1000.0
    stats = EquityStats(capital)
    equity, curve, exposed_bars = capital, [], 0
    for i, (holding, move) in enumerate(steps):
        if holding:
            equity *= 1 + move
            stats.update(STEP * i, equity, True)
            exposed_bars += 1
        else:
            stats.flat(STEP * i, equity)  # flat: equity unchanged
        curve.append(equity)
    assert stats.exposure() == exposed_bars / len(steps)
    assert math.isclose(stats.total_return(), curve[-1] / capital - 1, rel_tol=1e-12, abs_tol=1e-15)
    peak, mdd = capital, 0.0
    for e in curve:
        peak = max(peak, e)
        mdd = max(mdd, (peak - e) / peak)
    assert math.isclose(stats.max_drawdown, mdd, rel_tol=1e-9, abs_tol=1e-12)
    # Sharpe: daily returns of the day-end equity, the first day against the capital
    closes: dict[int, float] = {}
    for i, e in enumerate(curve):
        closes[int(STEP * i // 86400)] = e
    days = [closes[d] for d in sorted(closes)]
    returns = [days[0] / capital - 1] + [b / a - 1 for a, b in zip(days, days[1:], strict=False)]
    assert stats.days() == len(days)
    if len(days) < 30:
        assert stats.sharpe() is None
        return
    sd = statistics.stdev(returns)
    if sd > 1e-12:
        want = statistics.fmean(returns) / sd * math.sqrt(365)
        got = stats.sharpe()
        assert got is not None and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6)


def test_sharpe_is_null_under_30_days_however_many_bars() -> None:
    stats = EquityStats(1000.0)
    for i in range(29 * 24 * 60):  # 29 days of minute bars, trending up with noise
        stats.update(60.0 * i, 1000.0 + i * 0.01 + (i % 7), True)
    assert stats.days() == 29 and stats.sharpe() is None
    stats.update(29 * 86400.0, 1500.0, True)
    assert stats.days() == 30 and stats.sharpe() is not None
