"""The sim's latency model (``fill_latency: next_step``): taking orders held for the next step.

An order that takes (IOC, market, a crossing limit) is not matched on the book it was decided
on: it is held (a row of ``deferred`` in the sim's store, so a restart keeps it) and meets the
book of the next market step, before resting orders do, as the backtest fills an order on the
next event. Outcomes decided so are handed out by the adapter's ``catch_up``.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from venues.base import BookSnapshot, OrderRequest, OrderType, Side, TimeInForce
from venues.sim import matching


class HeldTakers:
    def __init__(self) -> None:
        self.instruments: set[str] = set()  # instruments with held orders
        self.decided: list[tuple[str, str]] = []  # (client order id, instrument) executed since the last take

    def load(self, db: sqlite3.Connection) -> None:
        """Orders held when the venue last stopped are held still."""
        self.instruments = {r[0] for r in db.execute(
            "SELECT o.instrument FROM deferred d JOIN orders o USING (client_order_id)")}

    def hold(self, db: sqlite3.Connection, req: OrderRequest) -> None:
        db.execute("INSERT INTO deferred(client_order_id) VALUES (?)", (req.client_order_id,))
        self.instruments.add(req.instrument)

    def release(self, db: sqlite3.Connection, sym: str) -> list[tuple[str, OrderRequest]]:
        """The held orders of ``sym`` still open, out of the hold: (venue order id, request)."""
        if sym not in self.instruments:
            return []
        self.instruments.discard(sym)
        rows = db.execute(
            "SELECT o.client_order_id, o.venue_order_id, o.side, o.qty, o.price, o.order_type, o.tif, o.status"
            " FROM deferred d JOIN orders o USING (client_order_id) WHERE o.instrument=? ORDER BY o.ts", (sym,),
        ).fetchall()
        out = []
        for cid, vid, side, qty, price, otype, tif, status in rows:
            db.execute("DELETE FROM deferred WHERE client_order_id=?", (cid,))
            if status != "new":
                continue  # cancelled (or expired) on its way
            out.append((vid, OrderRequest(cid, sym, Side(side), Decimal(qty), OrderType(otype),
                                          None if price is None else Decimal(price), TimeInForce(tif))))
            self.decided.append((cid, sym))
        return out

    def take_decided(self) -> list[tuple[str, str]]:
        out, self.decided = self.decided, []
        return out


def takes(req: OrderRequest, book: BookSnapshot) -> bool:
    """Would ``req`` take liquidity (so it travels to the next step)?"""
    if req.tif is TimeInForce.POST_ONLY:
        return False
    if req.order_type is not OrderType.LIMIT or req.price is None or req.tif is TimeInForce.IOC:
        return True
    best_bid = book.bids[0][0] if book.bids else float("-inf")
    best_ask = book.asks[0][0] if book.asks else float("inf")
    return matching.crosses(req.side.value, req.price, best_bid, best_ask)
