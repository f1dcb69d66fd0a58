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


# Hyperliquid's recorded BTC funding history (official SDK cassette, fundingHistory): 8-hourly
# until 2023-06-08 00:00, hourly after, the same 10.95% a year either way.
HL_SWITCH = [
    (1686096000.420, 0.0001), (1686124800.037, 0.0001), (1686153600.026, 0.0001), (1686182400.254, 0.0001),
    (1686186000.054, 0.0000125), (1686189600.123, 0.0000125), (1686193200.373, 0.0000125),
    (1686196800.022, 0.0000125), (1686200400.074, 0.0000125),
]


def settled(ts: float, rate: float) -> MarketEvent:
    """A funding row as the backtest reads it: a settled interval, no prices."""
    return MarketEvent(ts, "BTC-PERP", 0.0, 0.0, extra={"funding_rate": rate, "funding_settled_id": ts,
                                                         "funding_settled_rate": rate, "funding_settled_ts": ts})


def replay(params: FundingArbParams) -> list[object]:
    s = FundingArb(params, ["BTC-USD", "BTC-PERP"])
    held: dict[str, PositionView] = {}
    out = []
    for ts, rate in HL_SWITCH:
        s.on_event(settled(ts, rate), held)
        s.on_event(spot(ts + 1), held)
        d = s.on_event(perp(rate, ts + 2), held)
        out.append(d if isinstance(d, str) else [(i.instrument, i.side, i.purpose) for i in d])
        if isinstance(d, list) and d[0].purpose == "entry":
            held = {"BTC-USD": PositionView(0.1, 30000.0, ts), "BTC-PERP": PositionView(-0.1, 30003.0, ts)}
    return out


def test_the_funding_interval_follows_the_venues_switch_from_8h_to_1h() -> None:
    learned = replay(FundingArbParams(open_apr=0.08, close_apr=0.05, order_notional=3000))
    assert learned[0] == "funding_interval_unknown"  # one settlement: no interval yet
    assert learned[1] == [("BTC-USD", "buy", "entry"), ("BTC-PERP", "sell", "entry")]  # 8 h: 10.95%
    assert learned[4:] == ["holding"] * 5  # hourly 0.00125% is still 10.95% a year


def test_a_fixed_8h_interval_reads_the_hourly_rate_as_an_eighth_and_closes() -> None:
    fixed = replay(FundingArbParams(open_apr=0.08, close_apr=0.05, order_notional=3000, funding_interval="8h"))
    assert fixed[4] == [("BTC-USD", "sell", "exit"), ("BTC-PERP", "buy", "exit")]  # 1.37%: the old behaviour


def test_a_missed_settlement_does_not_halve_the_interval_rate() -> None:
    from runner.kinds.funding_arb import FundingInterval

    iv = FundingInterval(None)
    for ts in (0, 3600, 7200, 14400):  # 05:00 then 07:00: one hourly record missing
        iv.observe({"funding_settled_ts": float(ts)})
    assert iv.seconds == 3600
    iv.observe({"funding_interval_s": 28800.0})  # the venue says: the venue wins
    assert iv.seconds == 28800


def test_a_partly_filled_pair_waits_for_late_fills_then_its_excess_is_unwound_and_flagged() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    half = {"BTC-USD": PositionView(0.1, 30000.0, 0.0), "BTC-PERP": PositionView(-0.0434, 30003.0, 0.0)}
    s.on_event(spot(0.0), half)
    assert s.on_event(perp(1e-5, 1.0), half) == "pair_unbalanced"  # late fills may still come
    assert s.take_flags() == {}  # legs a step apart are normal: no finding yet
    assert s.on_event(perp(1e-5, 20.0), half) == "pair_unbalanced"
    out = s.on_event(perp(1e-5, 31.0), half)  # pair_timeout 30 s
    assert isinstance(out, list) and len(out) == 1
    i = out[0]
    assert (i.instrument, i.side, i.purpose, i.close, i.urgent, i.group) == ("BTC-USD", "sell", "pair_unwind", False, True, "pair")
    assert i.qty == pytest.approx(0.0566)  # the naked part
    assert s.take_flags() == {"pair_unwound": 1}


def test_a_lone_perp_leg_is_closed_after_the_timeout() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    lone = {"BTC-PERP": PositionView(-0.1, 30003.0, 0.0)}
    s.on_event(spot(0.0), lone)
    assert s.on_event(perp(1e-5, 1.0), lone) == "pair_unbalanced"
    out = s.on_event(perp(1e-5, 40.0), lone)
    assert isinstance(out, list) and [(i.instrument, i.side, i.close) for i in out] == [("BTC-PERP", "buy", True)]


def test_legs_within_the_mismatch_tolerance_are_a_held_pair() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    near = {"BTC-USD": PositionView(0.1, 30000.0, 0.0), "BTC-PERP": PositionView(-0.0995, 30003.0, 0.0)}
    s.on_event(spot(0.0), near)
    assert s.on_event(perp(1e-5, 100.0), near) == "holding"


def test_a_partly_filled_pair_still_wanted_is_topped_up_once_then_unwound_if_that_did_not_balance_it() -> None:
    s = FundingArb(P, ["BTC-USD", "BTC-PERP"])
    half = {"BTC-USD": PositionView(0.1, 30000.0, 0.0), "BTC-PERP": PositionView(-0.0434, 30003.0, 0.0)}
    rate = 1e-4  # 87.6% a year: above open_apr, the pair is still wanted
    s.on_event(spot(0.0), half)
    assert s.on_event(perp(rate, 1.0), half) == "pair_unbalanced"
    out = s.on_event(perp(rate, 31.0), half)
    assert isinstance(out, list) and len(out) == 1
    i = out[0]
    assert (i.instrument, i.side, i.purpose, i.close, i.urgent, i.group) == ("BTC-PERP", "sell", "pair_repair", False, True, "pair")
    assert i.qty == pytest.approx(0.0566) and i.is_entry  # adds exposure: not reduce-only, risk-checked
    assert s.take_flags() == {"pair_repaired": 1}
    assert s.on_event(perp(rate, 40.0), half) == "pair_repairing"  # once per unbalanced spell
    out = s.on_event(perp(rate, 62.0), half)  # the top-up did not fill within pair_timeout: unwind
    assert isinstance(out, list) and [(i.instrument, i.purpose) for i in out] == [("BTC-USD", "pair_unwind")]
    assert s.take_flags() == {"pair_unwound": 1}
    full = {"BTC-USD": PositionView(0.1, 30000.0, 0.0), "BTC-PERP": PositionView(-0.1, 30003.0, 0.0)}
    assert s.on_event(perp(rate, 70.0), full) == "holding" and s.repaired_at is None
