"""kalshi_sum: the gap, the depth, the count, the orphan sweep, and the event scope."""

from __future__ import annotations

from runner.kinds.base import MarketEvent, PositionView
from runner.kinds.kalshi_sum import KalshiSum, KalshiSumParams

P = KalshiSumParams(min_gap=2, min_depth=5, max_contracts=50)


def book(market: str, yes_bid: float, yes_size: float, no_bid: float, no_size: float) -> MarketEvent:
    x = {"yes_bid": yes_bid, "yes_bid_size": yes_size, "no_bid": no_bid, "no_bid_size": no_size,
         "yes_ask": 100 - no_bid, "no_ask": 100 - yes_bid}
    return MarketEvent(0.0, market, yes_bid, 100 - no_bid, (yes_size,), (no_size,), extra=x)


def test_buys_both_legs_ioc_when_the_asks_sum_below_100_minus_the_gap() -> None:
    s = KalshiSum(P, ["KX-A"])
    out = s.on_event(book("KX-A", 55, 10, 50, 20), {})  # yes_ask 50 + no_ask 45 = 95 < 98
    assert isinstance(out, list)
    assert [(i.instrument, i.side, i.qty, i.price, i.urgent, i.group) for i in out] == [
        ("KX-A:yes", "buy", 10.0, 50, True, "KX-A"), ("KX-A:no", "buy", 10.0, 45, True, "KX-A")]


def test_no_trade_when_the_sum_leaves_less_than_the_gap() -> None:
    s = KalshiSum(P, ["KX-A"])
    assert s.on_event(book("KX-A", 51, 10, 47, 20), {}) == "no_gap"  # 53 + 49 = 102
    assert s.on_event(book("KX-A", 51, 10, 51, 20), {}) == "no_gap"  # 49 + 49 = 98, not < 98


def test_no_trade_when_either_ask_is_thinner_than_min_depth() -> None:
    s = KalshiSum(P, ["KX-A"])
    assert s.on_event(book("KX-A", 55, 4, 50, 20), {}) == "too_thin"


def test_count_is_capped_by_what_is_left_of_max_contracts() -> None:
    s = KalshiSum(P, ["KX-A"])
    held = {"KX-A:yes": PositionView(45, 50, 0), "KX-A:no": PositionView(45, 45, 0)}
    out = s.on_event(book("KX-A", 55, 30, 50, 30), held)
    assert isinstance(out, list) and out[0].qty == 5.0


def test_an_orphan_leg_is_swept_at_its_bid_before_anything_else() -> None:
    s = KalshiSum(P, ["KX-A"])
    orphan = {"KX-A:yes": PositionView(10, 50, 0)}
    out = s.on_event(book("KX-A", 55, 10, 50, 20), orphan)
    assert isinstance(out, list)
    assert [(i.instrument, i.side, i.qty, i.price, i.purpose) for i in out] == [
        ("KX-A:yes", "sell", 10.0, 55, "orphan_sweep")]


def test_event_scope_buys_yes_on_every_market_when_yes_asks_sum_below_the_gap() -> None:
    s = KalshiSum(P.model_copy(update={"scope": "event"}), ["E-R", "E-B", "E-G"])
    assert s.on_event(book("E-R", 30, 10, 70, 10), {}) == "warming"  # yes_ask 30
    assert s.on_event(book("E-B", 30, 10, 68, 12), {}) == "warming"  # yes_ask 32
    out = s.on_event(book("E-G", 30, 10, 66, 8), {})  # yes_ask 34: 30 + 32 + 34 = 96 < 98
    assert isinstance(out, list)
    assert [(i.instrument, i.qty, i.price, i.group) for i in out] == [
        ("E-R:yes", 8.0, 30, "event"), ("E-B:yes", 8.0, 32, "event"), ("E-G:yes", 8.0, 34, "event")]


def test_event_scope_sweeps_the_excess_over_the_thinnest_leg() -> None:
    s = KalshiSum(P.model_copy(update={"scope": "event"}), ["E-R", "E-B"])
    s.on_event(book("E-R", 40, 10, 50, 10), {})
    held = {"E-R:yes": PositionView(8, 40, 0), "E-B:yes": PositionView(5, 50, 0)}
    out = s.on_event(book("E-B", 45, 10, 50, 10), held)
    assert isinstance(out, list) and [(i.instrument, i.qty, i.price) for i in out] == [("E-R:yes", 3.0, 40)]
