"""Round trips as a quant counts them: flips, groups, open trips apart, money in the account currency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from runner.engine.roundtrips import TripBook
from runner.ledger.positions import FLAT_POSITION, PositionState, apply_fill
from runner.ledger.store import NewFill

D = Decimal


class Book:
    """A TripBook fed the way the engine feeds it: positions folded by the ledger's apply_fill."""

    def __init__(self, cents: tuple[str, ...] = ()) -> None:
        self.trips = TripBook(100, lambda sym: D("0.01") if sym in cents else D(1))
        self.pos: dict[str, PositionState] = {}
        self.t = 0

    def fill(self, sym: str, side: str, qty: str, price: str, fee: str = "0", group: str | None = None,
             liquidity: str = "taker") -> None:
        self.t += 60
        ts = datetime.fromtimestamp(self.t, UTC)
        f = NewFill(f"k{self.t}", None, "r", "V", "sim", sym, side, D(qty), D(price), D(fee), ts, liquidity, group)
        old = self.pos.get(sym, FLAT_POSITION)
        new = apply_fill(old, 1 if side == "buy" else -1, f.qty, f.price, f.fee, ts)
        self.pos[sym] = new
        self.trips.on_fill(f, old, new, float(self.t))


def test_a_flip_closes_one_trip_and_opens_the_next_with_the_rest() -> None:
    b = Book()
    b.fill("X", "buy", "1", "100", fee="0.1")
    b.fill("X", "sell", "3", "110", fee="0.3")  # closes 1 long (+10), opens 2 short
    b.fill("X", "buy", "2", "105", fee="0.2")  # closes the short (+10)
    rows = [t.row() for t in b.trips.closed]
    assert b.trips.count == 2 and b.trips.wins == 2
    assert [(r["side"], r["qty"], r["entry_price"], r["exit_price"]) for r in rows] == [
        ("long", 1.0, 100.0, 110.0), ("short", 2.0, 110.0, 105.0)]
    assert rows[0]["pnl"] == pytest.approx(10 - 0.1 - 0.1)  # its own fee and a third of the flip's
    assert rows[1]["pnl"] == pytest.approx(10 - 0.2 - 0.2)
    assert float(b.trips.fees) == pytest.approx(0.6)


def test_a_trip_keeps_its_full_quantity_and_average_prices_when_scaled_in_and_out() -> None:
    b = Book()
    b.fill("X", "buy", "1", "100")
    b.fill("X", "buy", "3", "104")  # 4 @ 103
    b.fill("X", "sell", "2", "110")
    b.fill("X", "sell", "2", "106")  # out 4 @ 108
    (row,) = [t.row() for t in b.trips.closed]
    assert (row["qty"], row["entry_price"], row["exit_price"], row["pnl"]) == (4.0, 103.0, 108.0, 20.0)


def test_a_yes_no_pair_is_one_trade_closed_by_settlement_in_dollars() -> None:
    b = Book(cents=("M:yes", "M:no"))
    b.fill("M:yes", "buy", "10", "50", fee="18", group="g1")
    b.fill("M:no", "buy", "10", "45", fee="18", group="g1")
    assert b.trips.count == 0  # both legs open: one open trip
    b.fill("M:yes", "sell", "10", "100", liquidity="settlement")  # YES pays
    assert b.trips.count == 0  # NO still held
    b.fill("M:no", "sell", "10", "0", liquidity="settlement")
    (row,) = [t.row() for t in b.trips.closed]
    assert row["side"] == "group" and row["qty"] == 10.0
    assert (row["entry_price"], row["exit_price"]) == (95.0, 100.0)  # cents per pair
    assert row["pnl"] == pytest.approx((50 - 36) / 100)  # dollars: 5c a pair, 10 pairs, less 36c of fees
    assert b.trips.count == 1 and b.trips.wins == 1  # one trade, not two legs (50% by construction)


def test_open_trips_are_reported_apart_marked_at_the_mid() -> None:
    b = Book()
    b.fill("X", "buy", "2", "100")
    b.fill("Y", "buy", "1", "50")
    b.fill("Y", "sell", "1", "55")
    rows = b.trips.open_rows(b.pos, {"X": 104.0})
    assert b.trips.count == 1 and len(rows) == 1
    assert rows[0]["instrument"] == "X" and rows[0]["unrealized"] == 8.0 and rows[0]["exit_ts"] is None


def test_funding_is_apart_from_fees_and_counts_in_the_trip() -> None:
    b = Book()
    b.fill("P", "sell", "1", "100", fee="0.05", group="pair")
    b.fill("S", "buy", "1", "100", fee="0.05", group="pair")
    b.fill("P", "buy", "0", "100", fee="-0.3", liquidity="funding")  # received 0.30
    b.fill("P", "buy", "1", "100", fee="0.05", group="pair")
    b.fill("S", "sell", "1", "100", fee="0.05", group="pair")
    (row,) = [t.row() for t in b.trips.closed]
    assert float(b.trips.fees) == pytest.approx(0.2) and float(b.trips.funding) == pytest.approx(0.3)
    assert row["pnl"] == pytest.approx(0.1) and row["funding"] == pytest.approx(0.3)


def test_a_kalshi_backtest_counts_its_return_in_dollars_on_a_dollar_capital(tmp_path: Path) -> None:
    from bench import gen_data
    from runner.engine.backtest import bind_streams, run_backtest
    from runner.ledger.store import Ledger
    from runner.spec.load import load_variant

    data = tmp_path / "kalshi_books.jsonl"
    gen_data.main(["binary", str(data), "--markets", "KXSIM-A,KXSIM-B", "--rounds", "6"])
    loaded = load_variant(Path(__file__).resolve().parents[2] / "strategies.d" / "Kalshi-sum_v1.yaml")
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        res = run_backtest(loaded, bind_streams(loaded, [str(data)]), ledger)
    finally:
        ledger.close()
    m = res.metrics
    assert m["currency"] == "USD" and m["trades"] > 0
    assert m["final_equity"] - m["capital"] == pytest.approx(res.extra["net_pnl"], abs=0.01)  # both dollars
    assert m["fees"] == pytest.approx(res.extra["trading_fees"])
    assert abs(m["total_return"]) < 0.01  # dollars over $100,000, not cents over dollars
    assert m["sharpe"] is None  # hours of data
    assert all(t["side"] == "group" for t in res.trades)
