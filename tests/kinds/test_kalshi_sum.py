"""kalshi_sum: the gap, the depth, the count, the orphan sweep, and the event scope."""

from __future__ import annotations

from runner.kinds.base import MarketEvent, PositionView
from runner.kinds.kalshi_sum import KalshiSum, KalshiSumParams

P = KalshiSumParams(min_gap=2, min_depth=5, max_contracts=50, taker_fee_rate=0)  # the gap rule alone
FEES = KalshiSumParams(min_gap=2, min_depth=5, max_contracts=100)  # Kalshi's 0.07 taker fee


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


def test_kalshi_taker_fee_is_0_07_c_p_1_minus_p_rounded_up_to_the_cent() -> None:
    from decimal import Decimal

    from runner.money import kalshi_fee_cents

    assert kalshi_fee_cents(Decimal(1), Decimal(50)) == 2  # 1.75c -> 2c
    assert kalshi_fee_cents(Decimal(10), Decimal(46)) == 18  # 17.388c
    assert kalshi_fee_cents(Decimal(100), Decimal(10)) == 63  # exactly 63c
    assert kalshi_fee_cents(Decimal(100), Decimal(85)) == 90  # 89.25c
    assert kalshi_fee_cents(Decimal(5), Decimal(50), Decimal(0)) == 0


def test_a_sum_below_the_gap_that_fees_eat_is_not_entered() -> None:
    # yes_ask 50 + no_ask 46 = 96 < 98 (the old rule bought it): 10 pairs earn 40c, fees 18c + 18c
    s = KalshiSum(FEES, ["KX-A"])
    assert s.on_event(book("KX-A", 54, 10, 50, 10), {}) == "fees_exceed_gap"
    # one contract: 5c gross, 2c + 2c of fees (rounded up per order) leaves 1c < min_gap 2c
    one = KalshiSum(KalshiSumParams(min_gap=2, min_depth=1, max_contracts=1), ["KX-A"])
    assert one.on_event(book("KX-A", 55, 10, 50, 10), {}) == "fees_exceed_gap"


def test_a_sum_that_clears_fees_and_the_gap_is_entered() -> None:
    # a real book's shape (APRPOTUS-24JUL19, Jul 2024) dislocated: YES bid 15, NO bid 90
    # -> yes_ask 10 + no_ask 85 = 95; 100 pairs earn 500c, fees 63c + 90c, 347c >= 200c
    s = KalshiSum(FEES, ["KX-A"])
    out = s.on_event(book("KX-A", 15, 100, 90, 100), {})
    assert isinstance(out, list) and [(i.side, i.qty, i.price) for i in out] == [
        ("buy", 100.0, 10), ("buy", 100.0, 85)]


def test_the_event_scope_prices_fees_on_every_leg() -> None:
    s = KalshiSum(KalshiSumParams(scope="event", min_gap=2, min_depth=5, max_contracts=10), ["KX-R", "KX-B"])
    s.on_event(book("KX-R", 30, 20, 55, 20), {})  # yes_ask 45
    assert s.on_event(book("KX-B", 40, 20, 49, 20), {}) == "fees_exceed_gap"  # 45 + 51 = 96: 40c - 18c - 18c


def test_legs_held_past_max_hold_are_sold_at_the_bid() -> None:
    s = KalshiSum(KalshiSumParams(min_gap=2, min_depth=5, max_hold=3600), ["KX-A"])
    held = {"KX-A:yes": PositionView(10, 50, 0.0), "KX-A:no": PositionView(10, 45, 0.0)}
    young = MarketEvent(1800.0, "KX-A", 48, 52, extra=book("KX-A", 48, 10, 47, 10).extra)
    assert s.on_event(young, held) == "no_gap"  # half an hour: held
    old = MarketEvent(3600.0, "KX-A", 48, 52, extra=book("KX-A", 48, 10, 47, 10).extra)
    out = s.on_event(old, held)
    assert isinstance(out, list)
    assert [(i.instrument, i.side, i.purpose, i.price, i.close) for i in out] == [
        ("KX-A:yes", "sell", "time_stop", 48, True), ("KX-A:no", "sell", "time_stop", 47, True)]


def test_a_pair_the_venue_netted_still_counts_against_max_contracts_until_settlement() -> None:
    # Kalshi (and the sim) net YES against NO: the pair turns into cash and both legs read 0.
    # Counting held legs only, the kind re-entered on every book while the gap stayed open.
    s = KalshiSum(P.model_copy(update={"max_contracts": 30}), ["KX-A"])
    netted: dict[str, float] = {}
    s.venue_netted = netted  # what the engine fills in as it books netted pairs
    out = s.on_event(book("KX-A", 55, 20, 50, 20), {})
    assert isinstance(out, list) and out[0].qty == 20.0
    netted["KX-A"] = 20.0  # filled, and netted at once: both legs flat
    out = s.on_event(book("KX-A", 55, 20, 50, 20), {})
    assert isinstance(out, list) and out[0].qty == 10.0  # 20 netted pairs still count: 10 left
    assert s.on_event(book("KX-A", 55, 20, 50, 20), {"KX-A:yes": PositionView(10, 50, 0),
                                                     "KX-A:no": PositionView(10, 45, 0)}) == "max_contracts"
    netted["KX-A"] = 30.0
    assert s.on_event(book("KX-A", 55, 20, 50, 20), {}) == "max_contracts"  # 30 netted: the cap holds
    settled = book("KX-A", 55, 20, 50, 20)
    settled = MarketEvent(1.0, "KX-A", settled.bid, settled.ask, settled.bid_sizes, settled.ask_sizes,
                          extra={**settled.extra, "settled_id": 1.0})
    out = s.on_event(settled, {})  # the market settled: a new round starts from nothing
    assert isinstance(out, list) and out[0].qty == 20.0
