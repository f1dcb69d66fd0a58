"""The backtest's fill model: an order fills on the event after the one that decided it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from bench import gen_data
from runner.engine.backtest import bind_streams, run_backtest
from runner.ledger.store import Ledger
from runner.spec.load import load_variant
from venues.base import Instrument, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.sim.replay import ReplayVenue

INST = Instrument("ETH-USD", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("1"),
                  maker_fee=Decimal("0"), taker_fee=Decimal("0.001"))


def _venue() -> ReplayVenue:
    v = ReplayVenue("bt", {"ETH-USD": INST})
    v.set_market(1.0, "ETH-USD", 99.0, 100.0, (5.0,), (1.0,), None, 0.0, (99.0,), (100.0,))
    return v


def test_an_ioc_decided_on_one_book_fills_level_by_level_on_the_next_and_the_rest_is_cancelled() -> None:
    v = _venue()
    rep = v.submit(OrderRequest("c1", "ETH-USD", Side.BUY, Decimal("3"), OrderType.LIMIT, Decimal("102.5"),
                                TimeInForce.IOC))
    assert rep.status is OrderStatus.NEW and not v.has_unread_fills()  # nothing at the signal's book
    v.set_market(2.0, "ETH-USD", 100.5, 101.0, (4.0, 4.0), (1.0, 0.5, 9.0), None, 0.0,
                 (100.5, 100.0), (101.0, 102.0, 103.0))
    fills = v.fills().fills
    assert [(f.price, f.qty) for f in fills] == [(Decimal("101.0"), Decimal("1")), (Decimal("102.0"), Decimal("0.5"))]
    assert {f.ts.timestamp() for f in fills} == {2.0}
    (done,) = v.take_reports()
    assert (done.status, done.filled_qty) == (OrderStatus.CANCELLED, Decimal("1.5"))  # 103 is beyond the limit


def test_an_order_decided_on_a_bar_fills_at_the_next_bars_open_at_the_moment_it_was_decided() -> None:
    v = ReplayVenue("bt", {"ETH-USD": INST})
    v.set_market(60.0, "ETH-USD", 100.0, 100.0, (), (), None, 99.0)  # bar 0..60 closes at 100
    v.submit(OrderRequest("c1", "ETH-USD", Side.SELL, Decimal("2"), OrderType.LIMIT, Decimal("99.5"),
                          TimeInForce.IOC))
    assert not v.has_unread_fills()
    v.set_market(120.0, "ETH-USD", 98.0, 98.0, (), (), None, 99.7)  # the next bar opens at 99.7
    (f,) = v.fills().fills
    assert (f.price, f.qty, f.ts.timestamp()) == (Decimal("99.7"), Decimal("2"), 60.0)
    assert v.take_reports()[0].status is OrderStatus.FILLED


def test_a_taking_order_whose_limit_the_next_event_moved_away_from_does_not_fill() -> None:
    v = _venue()
    v.submit(OrderRequest("c1", "ETH-USD", Side.BUY, Decimal("1"), OrderType.LIMIT, Decimal("100.2"), TimeInForce.IOC))
    v.set_market(2.0, "ETH-USD", 100.5, 100.6, (1.0,), (1.0,), None, 0.0, (100.5,), (100.6,))
    assert not v.fills().fills
    assert v.take_reports()[0].status is OrderStatus.CANCELLED


def test_a_backtest_on_books_fills_only_at_prices_of_the_book_after_the_decision(tmp_path: Path) -> None:
    books = tmp_path / "eth.jsonl"
    gen_data.books(books, 3000, 2000.0, seed=3)
    rows = {float(r["ts"]): r for r in map(json.loads, books.read_text().splitlines())}
    src = (Path(__file__).resolve().parents[2] / "strategies.d" / "MR_v13.yaml").read_text()
    text = src.replace("instruments: [BTC-USD]", "instruments: [ETH-USD]").replace("window: 60", "window: 30")
    text = text.replace("version: 13", "version: 14") + "data:\n  books: true\n"
    (tmp_path / "MR_v14.yaml").write_text(text)
    loaded = load_variant(tmp_path / "MR_v14.yaml")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        res = run_backtest(loaded, bind_streams(loaded, [str(books)]), ledger)
        fills = ledger.fills(res.run_id, limit=None)
    finally:
        ledger.close()
    assert len(fills) > 10
    first = min(rows)
    for f in fills:
        row = rows[f.ts.timestamp()]
        side = row["asks"] if f.side == "buy" else row["bids"]
        assert float(f.price) in [p for p, _ in side]
        assert f.ts.timestamp() > first
