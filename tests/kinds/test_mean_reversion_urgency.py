"""Urgency routing starts in the kind: an extreme z-score marks the entry urgent (taker)."""

from __future__ import annotations

from runner.engine.execution import is_taker
from runner.kinds.base import Intent, MarketEvent
from runner.kinds.mean_reversion import MeanReversion, MeanReversionParams
from runner.spec.variant import ExecutionSpec


def entry_after_one_outlier(window: int) -> Intent:
    s = MeanReversion(MeanReversionParams(window=window, exit_z=0.5, obi_threshold=None), ["X"])
    for i in range(window - 1):
        s.on_event(MarketEvent(float(i), "X", 100.0, 100.0), {})
    out = s.on_event(MarketEvent(99.0, "X", 90.0, 90.0), {})
    assert isinstance(out, list)
    return out[0]


def test_a_single_outlier_in_12_bars_is_z_minus_3_175_and_goes_as_taker() -> None:
    intent = entry_after_one_outlier(12)  # z = -(n - 1) / sqrt(n) = -3.175
    assert intent.urgent and is_taker(intent, ExecutionSpec(style="maker"))


def test_a_milder_signal_rests_as_maker_and_exits_are_always_taker() -> None:
    intent = entry_after_one_outlier(9)  # z = -8 / 3 = -2.67
    maker = ExecutionSpec(style="maker")
    assert not intent.urgent and not is_taker(intent, maker)
    assert is_taker(Intent("X", "sell", "exit", close=True), maker)
