"""The sim venue's matching: partial fills on thin books, post-only, lot flooring, its own store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.errors import PrecisionError, RejectedError
from venues.base import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.sim.adapter import SimAdapter
from venues.sim.config import SimConfig, SimInstrument


def _sim(tmp_path, **inst) -> SimAdapter:  # type: ignore[no-untyped-def]
    cfg = SimConfig(clock="manual", depth=3, instruments={"BTC-USD": SimInstrument(level_size=0.1, **inst)})
    sim = SimAdapter("sim", cfg, tmp_path / "sim.db")
    sim.connect()
    return sim


def test_a_market_order_larger_than_the_book_fills_partially_and_cancels_the_rest(tmp_path) -> None:
    sim = _sim(tmp_path)
    book = sim.book("BTC-USD")
    depth = sum(Decimal(repr(s)) for _, s in book.asks)
    rep = sim.submit(OrderRequest("m1", "BTC-USD", Side.BUY, Decimal("100"), OrderType.MARKET))
    assert rep.status is OrderStatus.CANCELLED
    assert 0 < rep.filled_qty <= depth
    fills = sim.fills().fills
    assert sum(f.qty for f in fills) == rep.filled_qty
    assert len(fills) == len(book.asks)  # one fill per level walked
    assert [f.price for f in fills] == sorted(f.price for f in fills)


def test_liquidity_taken_in_a_step_is_not_offered_twice(tmp_path) -> None:
    sim = _sim(tmp_path)
    first = sim.submit(OrderRequest("a", "BTC-USD", Side.BUY, Decimal("100"), OrderType.MARKET))
    second = sim.submit(OrderRequest("b", "BTC-USD", Side.BUY, Decimal("100"), OrderType.MARKET))
    assert first.filled_qty > 0 and second.filled_qty == 0


def test_post_only_that_would_cross_is_rejected_and_one_that_rests_is_accepted(tmp_path) -> None:
    sim = _sim(tmp_path)
    book = sim.book("BTC-USD")
    ask = Decimal(repr(book.asks[0][0]))
    with pytest.raises(RejectedError) as info:
        sim.submit(OrderRequest("p1", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT, ask, TimeInForce.POST_ONLY))
    assert "post-only" in info.value.reason
    rep = sim.submit(OrderRequest("p2", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT, ask - 10,
                                  TimeInForce.POST_ONLY))
    assert rep.status is OrderStatus.NEW and rep.filled_qty == 0


def test_a_limit_outside_the_price_band_is_rejected(tmp_path) -> None:
    sim = _sim(tmp_path)
    with pytest.raises(RejectedError) as info:
        sim.submit(OrderRequest("b1", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT, Decimal("20000")))
    assert "band" in info.value.reason


def test_quantities_are_floored_to_the_lot_before_sending_and_zero_is_refused(tmp_path) -> None:
    sim = _sim(tmp_path)
    req = sim.prepare(OrderRequest("f1", "BTC-USD", Side.BUY, Decimal("0.123456789"), OrderType.LIMIT,
                                   Decimal("29000.123")))
    assert req.qty == Decimal("0.1234") and req.price == Decimal("29000.12")
    with pytest.raises(PrecisionError):
        sim.prepare(OrderRequest("f2", "BTC-USD", Side.BUY, Decimal("0.00009"), OrderType.LIMIT, Decimal("29000")))
    # the venue itself refuses a quantity off the lot (a real venue would)
    with pytest.raises(RejectedError):
        sim.submit(OrderRequest("f3", "BTC-USD", Side.BUY, Decimal("0.00015"), OrderType.MARKET))


def test_resting_orders_fill_as_makers_when_the_market_trades_through(tmp_path) -> None:
    sim = _sim(tmp_path, sigma=0.01)
    mid = sim.book("BTC-USD").mid
    rep = sim.submit(OrderRequest("r1", "BTC-USD", Side.BUY, Decimal("0.05"), OrderType.LIMIT,
                                  Decimal(str(round(mid * 0.995, 2)))))
    assert rep.status is OrderStatus.NEW
    for _ in range(400):
        sim.advance()
        if not sim.order("r1", "BTC-USD").status.is_open:  # type: ignore[union-attr]
            break
    done = sim.order("r1", "BTC-USD")
    assert done is not None and done.filled_qty > 0
    fills = [f for f in sim.fills().fills if f.client_order_id == "r1"]
    assert fills and all(f.liquidity == "maker" and f.price == rep.price for f in fills)
    assert sum(f.qty for f in fills) == done.filled_qty


def test_the_sim_keeps_its_account_in_its_own_store_across_restarts(tmp_path) -> None:
    sim = _sim(tmp_path)
    sim.submit(OrderRequest("k1", "BTC-USD", Side.BUY, Decimal("0.05"), OrderType.MARKET))
    pos = sim.positions()
    sim.advance(3)
    sim.close()
    again = _sim(tmp_path)
    assert again.positions() == pos
    assert again.order("k1", "BTC-USD") is not None
    assert [f.fill_id for f in again.fills().fills] == [f.fill_id for f in sim_fills(tmp_path)]


def sim_fills(tmp_path):  # type: ignore[no-untyped-def]
    s = _sim(tmp_path)
    return s.fills().fills


def test_the_market_is_deterministic_given_the_seed(tmp_path) -> None:
    a, b = _sim(tmp_path / "a"), _sim(tmp_path / "b")
    for _ in range(20):
        a.advance()
        b.advance()
    assert a.book("BTC-USD").bids == b.book("BTC-USD").bids
