"""What the sim venue answers about its account: orders, fills, positions, balances, records.

Plain reads of the sim's own store (``venues.sim.store``), shaped as the venue interface's
reports, so the adapter's read methods are one line each and the order code stays about orders.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

from venues.base import (
    BalanceReport,
    BookSnapshot,
    CashflowReport,
    FillPage,
    FillReport,
    OrderReport,
    OrderStatus,
    PositionReport,
    Side,
)

ORDER_COLUMNS = ("client_order_id, venue_order_id, instrument, side, qty, price, status, filled_qty, notional,"
                 " reason, ts")


def touch(book: BookSnapshot) -> tuple[float, float]:
    """Best bid and ask; a missing side never crosses (a settled or thin market)."""
    return (book.bids[0][0] if book.bids else float("-inf"), book.asks[0][0] if book.asks else float("inf"))


def report(row: tuple) -> OrderReport:  # type: ignore[type-arg]
    cid, vid, sym, side, qty, price, status, filled, notional, reason, ts = row
    f = Decimal(filled)
    return OrderReport(
        client_order_id=cid, instrument=sym, side=Side(side), qty=Decimal(qty), status=OrderStatus(status),
        filled_qty=f, price=None if price is None else Decimal(price),
        avg_fill_price=(Decimal(notional) / f) if f else None, venue_order_id=vid, reason=reason,
        ts=datetime.fromtimestamp(ts, UTC),
    )


def order(db: sqlite3.Connection, client_order_id: str) -> OrderReport | None:
    row = db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_order_id=?", (client_order_id,)).fetchone()
    return report(row) if row else None


def open_orders(db: sqlite3.Connection) -> list[OrderReport]:
    rows = db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ('new','partially_filled') ORDER BY ts"
    ).fetchall()
    return [report(r) for r in rows]


def fills(db: sqlite3.Connection, cursor: str | None) -> FillPage:
    after = int(cursor or 0)
    rows = db.execute(
        "SELECT seq, fill_id, client_order_id, venue_order_id, instrument, side, qty, price, fee, liquidity, ts"
        " FROM fills WHERE seq > ? ORDER BY seq LIMIT 1000",
        (after,),
    ).fetchall()
    out = [
        FillReport(
            fill_id=r[1], client_order_id=r[2], venue_order_id=r[3], instrument=r[4], side=Side(r[5]),
            qty=Decimal(r[6]), price=Decimal(r[7]), fee=Decimal(r[8]), liquidity=r[9],
            ts=datetime.fromtimestamp(r[10], UTC),
        )
        for r in rows
    ]
    return FillPage(out, str(rows[-1][0]) if rows else cursor)


def positions(db: sqlite3.Connection) -> list[PositionReport]:
    out = []
    for sym, qty, cost in db.execute("SELECT instrument, qty, cost FROM positions").fetchall():
        q = Decimal(qty)
        if q != 0:
            out.append(PositionReport(sym, q, Decimal(cost) / q))
    return out


def balances(db: sqlite3.Connection) -> list[BalanceReport]:
    rows = db.execute("SELECT currency, total FROM balances").fetchall()
    return [BalanceReport(c, Decimal(t), Decimal(t)) for c, t in rows]


def funding_records(db: sqlite3.Connection) -> list[CashflowReport]:
    """Funding the sim paid or charged on its perps, from its own funding table."""
    rows = db.execute("SELECT instrument, interval, amount, ts FROM funding ORDER BY ts, id").fetchall()
    return [CashflowReport(f"funding:{sym}:{interval}", "funding", sym, Decimal(amount), "USD",
                           datetime.fromtimestamp(ts, UTC))
            for sym, interval, amount, ts in rows if Decimal(amount) != 0]
