"""Streaming backtest metrics equal the same numbers computed from the whole equity curve."""

from __future__ import annotations

import math
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.engine.metrics import EquityStats


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(min_value=-0.01, max_value=0.01)), min_size=3, max_size=200))
def test_streaming_stats_match_a_direct_computation(steps: list[tuple[bool, float]]) -> None:
    capital = 1000.0
    stats = EquityStats(capital)
    equity, curve, exposed_bars = capital, [], 0
    for i, (holding, move) in enumerate(steps):
        if holding:
            equity *= 1 + move
            stats.update(60.0 * i, equity, True)
            exposed_bars += 1
        else:
            stats.flat(60.0 * i, equity)  # flat: equity unchanged
        curve.append(equity)
    returns = [curve[0] / capital - 1] + [b / a - 1 for a, b in zip(curve, curve[1:], strict=False)]
    assert stats.exposure() == exposed_bars / len(steps)
    assert math.isclose(stats.total_return(), curve[-1] / capital - 1, rel_tol=1e-12, abs_tol=1e-15)
    peak, mdd = capital, 0.0
    for e in curve:
        peak = max(peak, e)
        mdd = max(mdd, (peak - e) / peak)
    assert math.isclose(stats.max_drawdown, mdd, rel_tol=1e-9, abs_tol=1e-12)
    sd = statistics.stdev(returns)
    if sd > 1e-12:
        want = statistics.fmean(returns) / sd * math.sqrt(365.25 * 86400 / 60.0)
        assert math.isclose(stats.sharpe(), want, rel_tol=1e-6, abs_tol=1e-6)
