"""funding_arb: open above open_apr, close below close_apr or on a flip, legs as one group."""

from __future__ import annotations

import pytest

from runner.kinds.base import MarketEvent, PositionView
from runner.kinds.funding_arb import FundingArb, FundingArbParams, annualized

P = FundingArbParams(open_apr=0.2, close_apr=0.05, funding_interval=3600, order_notional=3000)


def spot(ts: float = 0.0, px: float = 30000.0) -> MarketEvent:
    return MarketEvent(ts, "BTC-USD", px - 1, px + 1)


def perp(rate: float, ts: float = 0.0, px: float = 30003.0) -> MarketEvent:
    return MarketEvent(ts, "BTC-PERP", px - 1, px + 1, extra={"funding_rate": rate})


def test_hourly_rate_annualizes_over_8760_intervals() -> None:
    assert annualized(1e-4, 3600) == pytest.approx(0.876)
    assert annualized(1e-4, 8 * 3600) == pytest.approx(0.1095)


def test_opens_equal_long_spot_and_short_perp_as_one_group_above_open_apr() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    assert s.on_event(spot(), {}) == "warming"
    out = s.on_event(perp(3e-5), {})  # 3e-5 * 8760 = 26.3% > 20%
    assert isinstance(out, list)
    assert [(i.instrument, i.side, i.group) for i in out] == [("BTC-USD", "buy", "pair"), ("BTC-PERP", "sell", "pair")]
    assert out[0].qty == out[1].qty == pytest.approx(0.1)  # 3000 / 30000


def test_stays_out_below_open_apr() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    s.on_event(spot(), {})
    assert s.on_event(perp(2e-5), {}) == "funding_below_open"  # 17.5%


def test_refuses_to_open_on_a_wide_basis() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    s.on_event(spot(), {})
    assert s.on_event(perp(3e-5, px=30300.0), {}) == "basis_too_wide"  # 100 bp


HELD = {"BTC-USD": PositionView(0.1, 30000.0, 0.0), "BTC-PERP": PositionView(-0.1, 30003.0, 0.0)}


def test_holds_between_the_thresholds() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    assert s.on_event(spot(), HELD) == "warming"
    assert s.on_event(perp(1e-5), HELD) == "holding"
    assert s.on_event(spot(), HELD) == "waiting_for_perp"  # 8.8%: below open, above close


@pytest.mark.parametrize("rate", [5e-6, -1e-6])  # 4.4% < close_apr; a flip
def test_closes_both_legs_below_close_apr_or_on_a_flip(rate: float) -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    s.on_event(spot(), HELD)
    out = s.on_event(perp(rate), HELD)
    assert isinstance(out, list)
    assert [(i.instrument, i.side, i.close, i.group) for i in out] == [
        ("BTC-USD", "sell", True, "pair"), ("BTC-PERP", "buy", True, "pair")]


def test_one_leg_held_opens_nothing_and_waits_for_the_close_signal() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    lone = {"BTC-USD": HELD["BTC-USD"]}
    s.on_event(spot(), lone)
    assert s.on_event(perp(3e-5), lone) == "pair_unbalanced"
    out = s.on_event(perp(0.0), lone)
    assert isinstance(out, list) and [(i.instrument, i.side) for i in out] == [("BTC-USD", "sell")]
