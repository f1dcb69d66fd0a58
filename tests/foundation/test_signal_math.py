"""Z-score and order-book imbalance against hand-computed values."""

from __future__ import annotations

import math
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.kinds.base import MarketEvent, PositionView
from runner.kinds.mean_reversion import MeanReversion, MeanReversionParams
from runner.kinds.signals import RollingZ, obi


def test_zscore_uses_the_sample_std_of_the_window_including_the_current_value() -> None:
    z = RollingZ(4)
    assert [z.push(x) for x in (1.0, 2.0, 3.0)] == [None, None, None]
    # window [1,2,3,4]: mean 2.5, sample std sqrt(5/3) -> z = 1.5 / 1.2910 = 1.161895
    assert math.isclose(z.push(4.0), 1.5 / math.sqrt(5 / 3), rel_tol=1e-12)
    # window slides to [2,3,4,10]: mean 4.75, var ((2.75^2 + 1.75^2 + .75^2 + 5.25^2) / 3)
    var = (2.75**2 + 1.75**2 + 0.75**2 + 5.25**2) / 3
    assert math.isclose(z.push(10.0), 5.25 / math.sqrt(var), rel_tol=1e-12)


def test_a_flat_window_has_no_zscore() -> None:
    z = RollingZ(3)
    for _ in range(5):
        out = z.push(7.0)
    assert out is None


@settings(max_examples=500, deadline=None)
@given(st.lists(st.floats(min_value=1, max_value=1e5), min_size=6, max_size=300), st.integers(2, 5))
def test_rolling_zscore_matches_a_direct_computation(xs: list[float], w: int) -> None:
    z = RollingZ(w)
    for i, x in enumerate(xs):
        got = z.push(x)
        if i + 1 < w:
            assert got is None
            continue
        window = xs[i + 1 - w : i + 1]
        sd = statistics.stdev(window)
        if sd < 1e-6 * max(window):
            continue  # numerically flat: either answer is acceptable
        want = (x - statistics.fmean(window)) / sd
        assert got is not None and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6)


def test_obi_over_n_levels() -> None:
    # Vb = 3 + 1 = 4, Va = 1 + 1 = 2 over two levels: (4 - 2) / (6 + 1e-8)
    assert math.isclose(obi([3, 1, 100], [1, 1, 100], 2), 2 / (6 + 1e-8))
    assert obi([], [1], 5) is None
    assert math.isclose(obi([0], [5], 1), -5 / (5 + 1e-8))


def _ev(mid: float, bid_sizes=(1.0,), ask_sizes=(1.0,), ts: float = 0.0) -> MarketEvent:
    return MarketEvent(ts, "X", mid - 0.5, mid + 0.5, bid_sizes, ask_sizes)


def _mr(**kw) -> MeanReversion:  # type: ignore[no-untyped-def]
    kw.setdefault("obi_threshold", None)
    params = MeanReversionParams(window=3, entry_z=1.0, exit_z=0.5, obi_levels=1, **kw)
    return MeanReversion(params, ["X"])


def test_mean_reversion_buys_below_the_mean_and_sells_only_when_bidirectional() -> None:
    s = _mr(long_only=True)
    assert s.on_event(_ev(100), {}) == "warming"
    s.on_event(_ev(100.2), {})
    # window [100, 100.2, 98]: z of 98 = (98 - 99.4) / 1.2166 = -1.15 < -1
    out = s.on_event(_ev(98), {})
    assert isinstance(out, list) and out[0].side == "buy" and out[0].purpose == "entry"
    s2 = _mr(long_only=True)
    for m in (100, 99.8):
        s2.on_event(_ev(m), {})
    assert s2.on_event(_ev(102), {}) == "long_only"
    s3 = _mr(long_only=False)
    for m in (100, 99.8):
        s3.on_event(_ev(m), {})
    out = s3.on_event(_ev(102), {})
    assert isinstance(out, list) and out[0].side == "sell"


def test_obi_gate_refuses_a_long_into_a_heavy_offer() -> None:
    s = _mr(obi_threshold=0.3)
    for m in (100, 100.2):
        s.on_event(_ev(m), {})
    # rho = (1 - 9) / 10 = -0.8 < -0.3: buying into a heavy offer is refused
    assert s.on_event(_ev(98, bid_sizes=(1.0,), ask_sizes=(9.0,)), {}) == "obi_gate"


def _signal(threshold: float, long: bool, bid: float, ask: float) -> object:
    s = _mr(obi_threshold=threshold, long_only=False)
    for m in ((100, 100.2) if long else (100, 99.8)):
        s.on_event(_ev(m), {})
    return s.on_event(_ev(98 if long else 102, bid_sizes=(bid,), ask_sizes=(ask,)), {})


def test_obi_gate_takes_a_long_only_when_the_book_leans_long_by_the_threshold() -> None:
    # the source engine: long when z < -1.25 and rho > 0; the old gate took a long at rho -0.2
    assert _signal(0.0, True, 4.0, 6.0) == "obi_gate"  # rho -0.2
    assert _signal(0.0, True, 5.0, 5.0) == "obi_gate"  # rho 0: not leaning long
    assert _signal(0.3, True, 6.0, 4.0) == "obi_gate"  # rho +0.2, inside the threshold
    out = _signal(0.3, True, 7.0, 3.0)  # rho +0.4
    assert isinstance(out, list) and out[0].side == "buy"


def test_obi_gate_takes_a_short_only_when_the_book_leans_short_by_the_threshold() -> None:
    assert _signal(0.3, False, 6.0, 4.0) == "obi_gate"  # rho +0.2: leans long
    assert _signal(0.3, False, 4.0, 6.0) == "obi_gate"  # rho -0.2: inside the threshold
    out = _signal(0.3, False, 3.0, 7.0)  # rho -0.4
    assert isinstance(out, list) and out[0].side == "sell"


def test_no_book_or_a_null_threshold_means_no_gate() -> None:
    assert _signal(0.3, True, 0.0, 0.0) == "obi_gate"  # zero sizes lean nowhere: gated
    s = _mr(obi_threshold=0.3)
    for m in (100, 100.2):
        s.on_event(MarketEvent(0.0, "X", m, m), {})  # bars: no sizes
    out = s.on_event(MarketEvent(0.0, "X", 98.0, 98.0), {})
    assert isinstance(out, list) and out[0].side == "buy"


def test_exits_stop_loss_and_time_stop_manage_an_open_long() -> None:
    long = PositionView(qty=1.0, avg_price=100.0, opened_ts=0.0)
    s = _mr(stop_loss_pct=0.05, max_hold=60)
    for m in (100, 100.2, 98):
        s.on_event(_ev(m), {})
    # still well below the mean: holding
    assert s.on_event(_ev(97.9, ts=10), {"X": long}) == "holding"
    stop = s.on_event(_ev(94.9, ts=11), {"X": long})
    assert isinstance(stop, list) and stop[0].purpose == "stop_loss" and stop[0].close
    late = s.on_event(_ev(97.0, ts=61), {"X": long})
    assert isinstance(late, list) and late[0].purpose == "time_stop"
    s2 = _mr()
    for m in (100, 100.2, 98):
        s2.on_event(_ev(m), {})
    back = s2.on_event(_ev(100.5, ts=5), {"X": long})
    assert isinstance(back, list) and back[0].purpose == "exit" and back[0].side == "sell"


# A real 5-level Binance futures book (Tardis sample, BTCUSDT 2020-09-01 00:00:03.696Z):
# bids 10.896, 0.2, 0.2, 0.98, 0.111 against asks 1.714, 5.4, 0.238, 0.077, 0.918: rho = +0.195
REAL_BIDS = (10.896, 0.2, 0.2, 0.98, 0.111)
REAL_ASKS = (1.714, 5.4, 0.238, 0.077, 0.918)


def _on_real_book(threshold: float, long: bool) -> object:
    s = MeanReversion(MeanReversionParams(window=3, entry_z=1.0, exit_z=0.5, obi_levels=5, obi_threshold=threshold,
                                          long_only=False), ["BTCUSDT"])
    for m in ((11657.0, 11657.2) if long else (11657.0, 11656.8)):
        s.on_event(MarketEvent(0.0, "BTCUSDT", m - 0.005, m + 0.005, REAL_BIDS, REAL_ASKS), {})
    m = 11655.0 if long else 11659.0
    return s.on_event(MarketEvent(0.0, "BTCUSDT", m - 0.005, m + 0.005, REAL_BIDS, REAL_ASKS), {})


def test_on_a_real_book_leaning_long_a_long_passes_the_source_gate_and_a_short_does_not() -> None:
    assert math.isclose(obi(REAL_BIDS, REAL_ASKS, 5), 4.04 / 20.734, rel_tol=1e-6)
    out = _on_real_book(0.0, long=True)
    assert isinstance(out, list) and out[0].side == "buy"
    assert _on_real_book(0.0, long=False) == "obi_gate"  # the old gate sold into this book (rho < 0.3)
    assert _on_real_book(0.3, long=True) == "obi_gate"  # leaning long, but not by 0.3
