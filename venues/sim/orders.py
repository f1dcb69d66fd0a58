"""The sim venue's order matching: what it refuses, how takers and resting orders fill, and
what a fill does to the account (position, cash, fee by the venue's schedule).

Composed into :class:`venues.sim.adapter.SimAdapter`, which owns the market and the books and
hands each step's book here. Everything is written inside the caller's store transaction, so
one venue-side action is all or nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from decimal import Decimal

from runner.money import currency_of, fill_fee, to_account
from venues.base import BookSnapshot, Instrument, OrderRequest, OrderType, Side, TimeInForce
from venues.sim import matching
from venues.sim.latency import HeldTakers
from venues.sim.reads import touch
from venues.sim.store import SimStore

ZERO = Decimal(0)
POST_ONLY_CROSS = "post-only order would cross the book"
REDUCE_ONLY_REFUSED = "reduce only order would increase position"  # Hyperliquid's words


class SimOrders:
    def __init__(self, account: str, store: SimStore, instruments: Mapping[str, Instrument],
                 used: dict[str, dict[float, float]], faults: list[str], held: HeldTakers,
                 clock: Callable[[], float]) -> None:
        self.account = account
        self.store = store
        self.instruments = instruments  # the adapter's (filled at connect)
        self.used = used  # per instrument: liquidity each price level gave in this step
        self.faults = faults
        self.held = held
        self.clock = clock
        # called after each fill with the instrument: the venue's own bookkeeping beyond the
        # position (binary legs netting YES against NO, as Kalshi does)
        self.after_fill: Callable[[sqlite3.Connection, str], None] | None = None

    def refusal(self, req: OrderRequest, inst: Instrument, book: BookSnapshot) -> str | None:
        """Why the venue refuses ``req`` at placement, or None."""
        if inst.kind == "binary_market":
            return f"{req.instrument} is a market; orders trade a leg: {req.instrument}:yes or {req.instrument}:no"
        if req.qty <= 0 or inst.floor_qty(req.qty) != req.qty:
            return f"quantity {req.qty} is not a positive multiple of the lot {inst.lot_size}"
        if req.qty < inst.min_size:
            return f"quantity {req.qty} below min size {inst.min_size}"
        if "reject" in self.faults:
            self.faults.remove("reject")
            return "price outside the allowed band (injected)"
        if req.reduce_only:  # judged against the account's one position, as Hyperliquid does
            pos = self.store.position(req.instrument)[0]
            if pos == 0 or (pos > 0) == (req.side is Side.BUY) or req.qty > abs(pos):
                return REDUCE_ONLY_REFUSED
        if req.order_type is OrderType.LIMIT:
            if req.price is None:
                return "limit order without a price"
            band = inst.price_band_pct
            if band is not None and book.gap is None:  # no mid, no band: a one-sided book takes a rest
                mid = Decimal(repr(book.mid))
                if abs(req.price - mid) > mid * band:
                    return f"price {req.price} outside the allowed band ({band:%} around {mid:.2f})"
            if req.tif is TimeInForce.POST_ONLY and matching.crosses(req.side.value, req.price, *touch(book)):
                return POST_ONLY_CROSS
        return None

    def execute_taker(self, db: sqlite3.Connection, req: OrderRequest, inst: Instrument, book: BookSnapshot,
                      vid: str) -> None:
        levels = book.asks if req.side is Side.BUY else book.bids
        limit = req.price if req.order_type is OrderType.LIMIT else None
        crossing = limit is None or matching.crosses(req.side.value, limit, *touch(book))
        chunks = []
        if f"nofill:{req.instrument}" in self.faults:  # test hook: the book emptied before this order
            self.faults.remove(f"nofill:{req.instrument}")
            crossing = False
        if crossing and req.tif is not TimeInForce.POST_ONLY:
            chunks = matching.take(req.side.value, req.qty, limit, levels, inst.lot_size, self.used[req.instrument])
        rounded = bool(chunks) and "round_fill" in self.faults
        if rounded:
            # A venue that rounds the executed size and still reports the order filled
            # (the 0.024098-for-0.0241 incident): the last chunk comes back short.
            self.faults.remove("round_fill")
            price, qty = chunks[-1]
            chunks[-1] = (price, (qty * Decimal("0.99992")).quantize(Decimal("0.000001"), rounding="ROUND_DOWN"))
        for price, qty in chunks:
            self.record_fill(db, req.client_order_id, vid, req.instrument, req.side, qty, price, "taker", inst)
        filled = req.qty if rounded else sum((q for _, q in chunks), ZERO)
        rests = req.order_type is OrderType.LIMIT and req.tif in (TimeInForce.GTC, TimeInForce.POST_ONLY)
        if filled == req.qty:
            status = "filled"
        elif not rests:
            status = "cancelled"  # IOC / market remainder: the book was too thin
        else:
            status = "partially_filled" if filled else "new"
        db.execute("UPDATE orders SET status=? WHERE client_order_id=?", (status, req.client_order_id))

    def match_resting(self, db: sqlite3.Connection, sym: str, book: BookSnapshot, deferring: bool) -> None:
        """A new step's book meets the orders: held takers first (they arrive with it), then resting ones."""
        if deferring:
            for vid, req in self.held.release(db, sym):  # the first step after their submit
                self.execute_taker(db, req, self.instruments[sym], book, vid)
        inst = self.instruments.get(sym)
        if inst is None:
            return
        rows = db.execute(
            "SELECT client_order_id, venue_order_id, side, qty, price, filled_qty FROM orders "
            "WHERE instrument=? AND status IN ('new','partially_filled') AND order_type='limit' ORDER BY ts",
            (sym,),
        ).fetchall()
        for cid, vid, side, qty, price, filled in rows:
            limit = Decimal(price)
            if not matching.crosses(side, limit, *touch(book)):
                continue
            left = Decimal(qty) - Decimal(filled)
            levels = book.asks if side == "buy" else book.bids
            chunks = matching.take(side, left, limit, levels, inst.lot_size, self.used[sym])
            got = sum((q for _, q in chunks), ZERO)
            if got:
                # maker: filled at its own resting price, queue-free
                self.record_fill(db, cid, vid, sym, Side(side), got, limit, "maker", inst)
                status = "filled" if got == left else "partially_filled"
                db.execute("UPDATE orders SET status=? WHERE client_order_id=?", (status, cid))

    def record_fill(self, db: sqlite3.Connection, cid: str, vid: str, sym: str, side: Side, qty: Decimal,
                    price: Decimal, liquidity: str, inst: Instrument) -> None:
        rate = inst.maker_fee if liquidity == "maker" else inst.taker_fee
        fee = fill_fee(inst.kind, inst.quote, rate, qty, price)  # the venue's schedule (Kalshi's on binary legs)
        fid = f"{self.account}-F{self.store.next_id('fill_seq')}"
        db.execute(
            "INSERT INTO fills(fill_id, client_order_id, venue_order_id, instrument, side, qty, price, fee,"
            " liquidity, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (fid, cid, vid, sym, side.value, str(qty), str(price), str(fee), liquidity, self.clock()),
        )
        db.execute(
            "UPDATE orders SET filled_qty = ?, notional = ? WHERE client_order_id=?",
            (*_accumulate(db, cid, qty, price), cid),
        )
        pos, cost = self.store.position(sym)
        signed = qty * side.sign
        self.store.set_position(sym, pos + signed, cost + signed * price)
        ccy = currency_of(inst.quote)  # binary legs are quoted in cents, their cash is dollars
        cash = self.store.balance(ccy) or ZERO
        self.store.set_balance(ccy, cash - to_account(signed * price + fee, inst.quote))
        if self.after_fill is not None:
            self.after_fill(db, sym)

    def cancel(self, client_order_id: str) -> None:
        with self.store.tx() as db:
            db.execute(
                "UPDATE orders SET status='cancelled' WHERE client_order_id=? AND status IN ('new','partially_filled')",
                (client_order_id,),
            )


def _accumulate(db: sqlite3.Connection, cid: str, qty: Decimal, price: Decimal) -> tuple[str, str]:
    filled, notional = db.execute("SELECT filled_qty, notional FROM orders WHERE client_order_id=?", (cid,)).fetchone()
    return str(Decimal(filled) + qty), str(Decimal(notional) + qty * price)
