"""The sim venue passes the shared venue contract, its faults injected through ``faults``."""

from __future__ import annotations

from decimal import Decimal

from tests.kit.venue_contract import VenueContract
from venues.base import BookSnapshot, OrderRequest, OrderType, Side, TimeInForce
from venues.sim.adapter import SimAdapter
from venues.sim.config import SimConfig


class TestSimContract(VenueContract):
    symbol = "BTC-USD"
    good_qty = Decimal("0.0400")
    sub_lot_qty = Decimal("0.00004")
    price = Decimal("29000")  # below the market: rests unfilled
    binary_qty = Decimal(4)  # whole contracts of the sim's binary legs

    def venue(self) -> SimAdapter:
        if not hasattr(self, "_v"):
            self._v = SimAdapter("sim", SimConfig(clock="manual"), ":memory:")
            self._v.connect()
        return self._v

    def scenario_accept(self, cid: str) -> None:
        pass

    def scenario_reject(self, cid: str) -> None:
        self.venue().faults.append("reject")

    def scenario_server_error(self) -> None:
        self.venue().faults.append("5xx:submit")

    def scenario_timeout_then_lookup(self, cid: str) -> None:
        self.venue().faults.append("timeout_after_accept")

    def scenario_fills(self, cid: str, chunks: list[Decimal]) -> None:
        # Walk the market down through the resting price; the sim fills makers queue-free
        # in chunks limited by the size on the book, so force thin levels first.
        v = self.venue()
        for chunk in chunks:
            v.store.db.execute("UPDATE market SET mid = ? WHERE instrument = ?", (28000.0, self.symbol))
            v._books.pop(self.symbol, None)
            with v.store.tx() as db:
                order = v.order(cid, self.symbol)
                assert order is not None
                # fill exactly ``chunk`` by offering just that much below the limit
                book = BookSnapshot(self.symbol, 0.0, [(27999.0, 1.0)], [(28000.0, float(chunk))])
                v._used[self.symbol] = {}
                v._match_resting(db, self.symbol, book)

    def scenario_binary_pair(self, qty: Decimal) -> str | None:
        # the sim's default binary event KXSIM-A: both legs bought through the adapter, taking the ask
        v = self.venue()
        for cid, leg in (("c0ffee90", "yes"), ("c0ffee91", "no")):
            rep = v.submit(v.prepare(OrderRequest(cid, f"KXSIM-A:{leg}", Side.BUY, qty, OrderType.LIMIT, Decimal(99),
                                                  TimeInForce.IOC)))
            assert rep.filled_qty == qty
        return "KXSIM-A"

    def scenario_sent_amount(self, cid: str) -> Decimal:
        row = self.venue().store.db.execute("SELECT qty FROM orders WHERE client_order_id = ?", (cid,)).fetchone()
        return Decimal(row[0])

    def scenario_accept_then_server_error(self, cid: str) -> None:
        self.venue().faults.append("5xx_after_accept")

    def scenario_accept_then_drop(self, cid: str) -> None:
        self.venue().faults.append("drop_after_accept")

    def scenario_connect_refused(self) -> None:
        self.venue().faults.append("down:submit")

    def scenario_post_only_cross(self, cid: str) -> None:
        self._pin_book([(28000.0, 1.0)], [(28001.0, 1.0)])  # the market fell through our bid

    def scenario_book(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        self._pin_book([(float(p), float(q)) for p, q in bids], [(float(p), float(q)) for p, q in asks])

    def _pin_book(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
        """The sim's book of this step, as a settled or moved market would leave it."""
        v = self.venue()
        step = v.store.db.execute("SELECT step FROM market WHERE instrument = ?", (self.symbol,)).fetchone()[0]
        v._books[self.symbol] = (step, BookSnapshot(self.symbol, 0.0, bids, asks))
        v._used[self.symbol] = {}

    def scenario_cashflow(self) -> tuple[str, str, Decimal]:
        # a long perp position through one funding settlement, on the sim's own code path
        v = self.venue()
        v.store.set_position("BTC-PERP", Decimal("0.5"), Decimal("15000"))
        with v.store.tx() as db:
            v._settle_funding(db, "BTC-PERP", 1, 0.0001, 30000.0)
        return "funding", "BTC-PERP", Decimal("-1.5")  # a long pays 0.0001 x 0.5 x 30000

    def scenario_settlement(self) -> tuple[str, str, Decimal, Decimal, Decimal, Decimal] | None:
        # NO 3 of KXSIM-A bought through the adapter, held through the round's expiry (150 steps)
        v = self.venue()
        v.submit(v.prepare(OrderRequest("c0ffee92", "KXSIM-A:no", Side.BUY, Decimal(3), OrderType.LIMIT,
                                        Decimal(99), TimeInForce.IOC)))
        v.advance(150)
        (yes_pays,) = v.store.db.execute("SELECT yes_pays FROM settlements WHERE market = 'KXSIM-A'").fetchone()
        return "KXSIM-A", "yes" if yes_pays else "no", Decimal(0), Decimal(3), Decimal(3 * (100 - yes_pays)), Decimal(0)
