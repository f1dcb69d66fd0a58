"""imbalance_scalper: fade a heavy top of book, one position per symbol, flat by the close."""

from __future__ import annotations

import pytest

from runner.kinds.base import MarketEvent, PositionView
from runner.kinds.imbalance_scalper import ImbalanceScalper, ImbalanceScalperParams, near_close, top_imbalance

P = ImbalanceScalperParams(threshold=0.6, exit_threshold=0.1, dollar_cap=1000, max_hold=300,
                           session_close="21:00", flatten_before=300)
NOON = 1_735_732_800.0  # 2025-01-01T12:00:00Z


def ev(bid_size: float, ask_size: float, ts: float = NOON) -> MarketEvent:
    return MarketEvent(ts, "ETH-USD", 99.0, 101.0, (bid_size, 50.0), (ask_size, 50.0))


def test_imbalance_is_taken_at_the_top_level_only() -> None:
    assert top_imbalance((1.0, 100.0), (9.0, 0.0)) == pytest.approx(-0.8)
    assert top_imbalance((), (1.0,)) is None


def test_a_heavy_offer_is_faded_by_a_buy_the_execution_style_prices_within_the_dollar_cap() -> None:
    out = ImbalanceScalper(P, ["ETH-USD"]).on_event(ev(1.0, 9.0), {})  # -0.8
    assert isinstance(out, list)
    # no price of its own: taker style crosses to the ask (capped), maker style joins the bid
    assert (out[0].side, out[0].price, out[0].urgent) == ("buy", None, False)
    assert out[0].qty == pytest.approx(1000 / 101.0)  # the cap at the ask it would pay


def test_a_heavy_bid_is_faded_by_a_sell_sized_at_the_bid() -> None:
    out = ImbalanceScalper(P, ["ETH-USD"]).on_event(ev(9.0, 1.0), {})
    assert isinstance(out, list) and (out[0].side, out[0].price) == ("sell", None)
    assert out[0].qty == pytest.approx(1000 / 99.0)


def test_inside_the_threshold_nothing_happens() -> None:
    assert ImbalanceScalper(P, ["ETH-USD"]).on_event(ev(3.0, 2.0), {}) == "no_signal"  # 0.2


def test_one_position_per_symbol_exits_when_the_imbalance_fades() -> None:
    s = ImbalanceScalper(P, ["ETH-USD"])
    held = {"ETH-USD": PositionView(10.0, 99.0, NOON - 10)}
    assert s.on_event(ev(1.0, 9.0), held) == "holding"
    out = s.on_event(ev(5.0, 5.0), held)
    assert isinstance(out, list) and (out[0].side, out[0].close, out[0].purpose) == ("sell", True, "exit")


def test_flat_by_session_close() -> None:
    s = ImbalanceScalper(P, ["ETH-USD"])
    late = NOON + 9 * 3600 - 120  # 20:58Z
    assert near_close(late, "21:00", 300) and not near_close(NOON, "21:00", 300)
    assert s.on_event(ev(1.0, 9.0, late), {}) == "near_session_close"
    out = s.on_event(ev(1.0, 9.0, late), {"ETH-USD": PositionView(-10.0, 101.0, late - 5)})
    assert isinstance(out, list) and (out[0].side, out[0].purpose, out[0].urgent) == ("buy", "session_close", True)
