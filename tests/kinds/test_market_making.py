"""market_making: hand-computed quotes, sizes, skew, replace rules and the band clamp."""

from __future__ import annotations

import pytest

from runner.kinds.base import FLAT, MarketEvent, PositionView
from runner.kinds.market_making import MarketMaking, MarketMakingParams, quote_prices, quote_size

P = MarketMakingParams(half_spread_bps=10, min_size=0.01, max_size=0.1, volume_window=2, volume_ref=1.0,
                       max_inventory=1.0, skew=1.0, reprice_bps=5, min_replace_s=1.0, refresh_s=10.0,
                       price_band_pct=0.05, max_ref_drift_pct=0.01)


def ev(ts: float, bid: float = 99.99, ask: float = 100.01, volume: float = 1.0, **extra: float) -> MarketEvent:
    return MarketEvent(ts, "ETH-USD", bid, ask, (1.0,), (1.0,), volume, extra)


def test_quotes_sit_half_spread_around_the_reference_when_flat() -> None:
    bid, ask, clamped = quote_prices(100.0, 100.0, 0.0, P)
    assert (bid, ask, clamped) == (pytest.approx(99.9), pytest.approx(100.1), False)


def test_long_inventory_widens_the_bid_only() -> None:
    bid, ask, _ = quote_prices(100.0, 100.0, 0.5, P)  # bid offset 10 * (1 + 0.5) = 15 bps
    assert bid == pytest.approx(99.85) and ask == pytest.approx(100.1)


def test_short_inventory_widens_the_ask_only() -> None:
    bid, ask, _ = quote_prices(100.0, 100.0, -1.0, P)  # ask offset 10 * 2 = 20 bps
    assert bid == pytest.approx(99.9) and ask == pytest.approx(100.2)


def test_a_reference_far_from_the_market_is_clamped_into_the_band_around_the_live_mid() -> None:
    bid, ask, clamped = quote_prices(110.0, 100.0, 0.0, P)
    assert clamped and bid == pytest.approx(105.0) and ask == pytest.approx(105.0)


def test_size_scales_with_volume_between_min_and_max() -> None:
    assert quote_size(0.0, P) == pytest.approx(0.01)
    assert quote_size(0.5, P) == pytest.approx(0.055)
    assert quote_size(7.0, P) == pytest.approx(0.1)


def test_quotes_two_sides_once_warm_and_never_cross_the_touch() -> None:
    mm = MarketMaking(P, ["ETH-USD"])
    assert mm.on_event(ev(0.0), {}) == "warming"
    out = mm.on_event(ev(1.0), {})
    assert isinstance(out, list) and [(i.side, i.purpose) for i in out] == [("buy", "quote"), ("sell", "quote")]
    assert out[0].price == pytest.approx(99.9) and out[1].price == pytest.approx(100.1)
    assert out[0].qty == pytest.approx(0.1) and out[1].qty == pytest.approx(0.1)


def test_no_replace_inside_the_minimum_interval_or_below_the_threshold() -> None:
    mm = MarketMaking(P, ["ETH-USD"])
    mm.on_event(ev(0.0), {})
    assert isinstance(mm.on_event(ev(1.0), {}), list)
    assert mm.on_event(ev(1.5), {}) == "min_replace_interval"
    assert mm.on_event(ev(3.0, 99.992, 100.012), {}) == "quotes_unchanged"  # moved 0.2 bp
    assert isinstance(mm.on_event(ev(4.0, 100.5, 100.52), {}), list)  # moved ~50 bp


def test_full_inventory_pulls_the_side_that_would_grow_it() -> None:
    mm = MarketMaking(P, ["ETH-USD"])
    mm.on_event(ev(0.0), {})
    out = mm.on_event(ev(1.0), {"ETH-USD": PositionView(1.0, 100.0, 0.0)})
    assert isinstance(out, list)
    assert out[0].side == "buy" and out[0].qty == 0.0 and out[1].qty == pytest.approx(0.1)


def test_a_drifted_reference_is_flagged_and_its_quotes_clamped() -> None:
    p = P.model_copy(update={"reference": "fair_value"})
    mm = MarketMaking(p, ["ETH-USD"])
    mm.on_event(ev(0.0, fair_value=120.0), {})
    out = mm.on_event(ev(1.0, fair_value=120.0), {"ETH-USD": FLAT})
    assert isinstance(out, list)
    assert all(95.0 <= i.price <= 105.0 for i in out)  # type: ignore[operator]
    assert mm.take_flags() == {"reference_drift": 1, "quote_clamped": 1}


def test_near_the_bound_the_growing_side_quotes_only_what_is_left() -> None:
    # the old rule quoted the full 0.1 at 0.95 long and overshot max_inventory 1.0 by a fill
    mm = MarketMaking(P, ["ETH-USD"])
    mm.on_event(ev(0.0), {})
    out = mm.on_event(ev(1.0), {"ETH-USD": PositionView(0.95, 100.0, 0.0)})
    assert isinstance(out, list)
    assert out[0].qty == pytest.approx(0.05) and out[1].qty == pytest.approx(0.1)
    mm2 = MarketMaking(P, ["ETH-USD"])
    mm2.on_event(ev(0.0), {})
    out = mm2.on_event(ev(1.0), {"ETH-USD": PositionView(-0.97, 100.0, 0.0)})
    assert isinstance(out, list)
    assert out[0].qty == pytest.approx(0.1) and out[1].qty == pytest.approx(0.03)
