"""The sim's latency model: a taking order meets the next market step's book, never the one
it was decided on; resting and post-only orders are unchanged; a restart keeps held orders."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from venues.base import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.sim.adapter import SimAdapter
from venues.sim.config import SimConfig


def _sim(path: Path | str, latency: str = "next_step") -> SimAdapter:
    sim = SimAdapter("sim", SimConfig(clock="manual", fill_latency=latency), path)  # type: ignore[arg-type]
    sim.connect()
    return sim


def _ioc(cid: str, sim: SimAdapter, side: Side = Side.BUY) -> OrderRequest:
    book = sim.book("BTC-USD")
    px = Decimal(repr(book.asks[0][0])) * Decimal("1.002") if side is Side.BUY else Decimal(repr(book.bids[0][0])) * Decimal("0.998")
    return OrderRequest(cid, "BTC-USD", side, Decimal("0.01"), OrderType.LIMIT, px.quantize(Decimal("0.01")), TimeInForce.IOC)


def test_a_taking_order_fills_on_the_next_steps_book_and_catch_up_hands_its_outcome(tmp_path: Path) -> None:
    sim = _sim(tmp_path / "s.db")
    decided_on = sim.book("BTC-USD")
    rep = sim.submit(_ioc("c1", sim))
    assert rep.status is OrderStatus.NEW and rep.filled_qty == 0
    assert sim.fills().fills == [] and sim.catch_up() == []  # nothing until the market moves
    sim.advance(1)
    next_book = sim.book("BTC-USD")
    (done,) = sim.catch_up() or []
    assert done.client_order_id == "c1" and done.status is OrderStatus.FILLED
    (fill,) = sim.fills().fills
    assert float(fill.price) == next_book.asks[0][0] != decided_on.asks[0][0]  # the next book's ask
    assert sim.catch_up() == []  # handed out once


def test_without_latency_it_fills_at_once_and_catch_up_says_the_venue_has_no_model(tmp_path: Path) -> None:
    sim = _sim(tmp_path / "s.db", "none")
    decided_on = sim.book("BTC-USD")
    assert sim.submit(_ioc("c1", sim)).status is OrderStatus.FILLED
    assert float(sim.fills().fills[0].price) == decided_on.asks[0][0]
    assert sim.catch_up() is None


def test_post_only_rests_at_once_and_a_held_order_cancelled_on_its_way_never_fills(tmp_path: Path) -> None:
    sim = _sim(tmp_path / "s.db")
    bid = Decimal(repr(sim.book("BTC-USD").bids[0][0])) - Decimal("50")
    rest = sim.submit(OrderRequest("m1", "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT, bid, TimeInForce.POST_ONLY))
    assert rest.status is OrderStatus.NEW and sim.open_orders()[0].client_order_id == "m1"
    sim.submit(_ioc("c2", sim, Side.SELL))
    sim.cancel("c2", "BTC-USD")
    sim.advance(1)
    assert sim.catch_up() == [] and not [f for f in sim.fills().fills if f.client_order_id == "c2"]


def test_a_restart_keeps_the_held_order_and_it_fills_on_the_next_step(tmp_path: Path) -> None:
    sim = _sim(tmp_path / "s.db")
    sim.submit(_ioc("c3", sim))
    sim.close()
    again = _sim(tmp_path / "s.db")
    again.advance(1)
    (done,) = again.catch_up() or []
    assert done.client_order_id == "c3" and done.status is OrderStatus.FILLED
