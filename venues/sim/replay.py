"""An in-memory venue for backtests: the sim's matching against recorded data, no store.

The backtest loop hands it each recorded event with :meth:`set_market`; orders fill against
it with the same matching code as the sim. The fill model is the honest one: an order that
would take (IOC, market, a crossing limit) reaches the book of the NEXT event of its
instrument, never the one whose price made the signal: a bar's open (bars carry no book, so
the open offers unlimited size), or a book level by level against its recorded depth. What
is left of an IOC is cancelled then; a post-only order that would cross is refused at once.
Outcomes decided on a later event are handed out with :meth:`take_reports`. Nothing is kept
per bar: fills and reports are dropped once read.

Binary markets behave as on Kalshi and the sim (the venues that list them): YES and NO of one
market held together net into cash with the sim's own rule (``binary.netted``), and a recorded
settlement zeroes the legs and expires their orders, so a backtest or a replay ends where a
paper or live run ends. Only fills of binary legs pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from runner.errors import PostOnlyRejected, RejectedError
from runner.money import CENTS_QUOTE, KALSHI_TAKER_RATE, fill_fee
from venues.base import (
    BalanceReport,
    BookSnapshot,
    Capabilities,
    FillPage,
    FillReport,
    Instrument,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionReport,
    Side,
    TimeInForce,
    VenueAdapter,
)
from venues.sim import binary, matching

ZERO = Decimal(0)
_UNLIMITED = 1e18


def _dec_price(x: float) -> Decimal:
    return Decimal(repr(x))


class ReplayVenue(VenueAdapter):
    # binary legs net as on Kalshi and the sim, the venues whose recordings hold binary books
    capabilities = Capabilities(post_only=True, ioc=True, market_orders=True, cancel_all=True,
                                binary_markets=True, nets_binary_legs=True)

    def __init__(self, account: str, instruments: Mapping[str, Instrument], defer: bool = True) -> None:
        super().__init__(account)
        self.defer = defer  # False: taking orders match the current book at once (a replay of a session)
        self._instruments = dict(instruments)
        self._quote: dict[str, tuple[float, float, float, Sequence[float], Sequence[float]]] = {}
        self._depth: dict[str, tuple[Sequence[float], Sequence[float]]] = {}  # level prices (books)
        self._next: list[OrderRequest] = []  # taking orders waiting for the next event of their instrument
        self._reports: list[OrderReport] = []  # outcomes decided on a later event than the submit
        self._orders: dict[str, OrderReport] = {}  # open orders, and the last few closed ones
        self._resting: dict[str, OrderRequest] = {}
        self._fills: list[FillReport] = []
        self._read = 0  # fills handed out so far (the cursor)
        self._fill_seq = 0
        self._positions: dict[str, Decimal] = {}
        self._used: dict[str, dict[float, float]] = {}
        self._dt_for: tuple[float, datetime] = (-1.0, datetime.fromtimestamp(0, UTC))  # last quote time as datetime
        self._settled: dict[str, float] = {}  # binary market -> the last settlement id seen

    def connect(self) -> None:
        pass

    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    def set_market(self, ts: float, instrument: str, bid: float, ask: float,
                   bid_sizes: Sequence[float] = (), ask_sizes: Sequence[float] = (),
                   extra: Mapping[str, float] | None = None, open_px: float = 0.0,
                   bid_prices: Sequence[float] = (), ask_prices: Sequence[float] = ()) -> None:
        """The next event of ``instrument``: waiting orders fill on it (a bar at ``open_px``)."""
        if self._next and open_px > 0:
            # a bar: the orders decided at the close of the bar before fill at this one's open,
            # which is that close's moment (the time the previous bar became known)
            before = self._quote.get(instrument)
            ob, oa = (extra["fill_bid"], extra["fill_ask"]) if extra and "fill_ask" in extra else (open_px, open_px)
            at = extra.get("fill_ts") if extra else None  # a recording says when the venue filled it
            self._quote[instrument] = (at or (before[0] if before else ts), ob, oa, (), ())
            self._fill_next((instrument,))
        if open_px > 0 and bid_sizes:  # a bar's book (sampled at its close) gates its strategy; its
            bid_sizes = ask_sizes = bid_prices = ()  # fills stay those of a bar: the open, or the close
        self._quote[instrument] = (ts, bid, ask, bid_sizes, ask_sizes)
        self._used[instrument] = {}
        if bid_prices:
            self._depth[instrument] = (bid_prices, ask_prices)
        legs: tuple[str, ...] = ()
        if extra and "yes_ask" in extra:
            if "settled_id" in extra:
                self.settle(instrument, extra)
            legs = self._set_legs(ts, instrument, extra, bid_sizes, ask_sizes, bid_prices, ask_prices)
        if self._next and not open_px:
            self._fill_next((instrument, *legs))
        if self._resting:
            self._match_resting(instrument)

    def _fill_next(self, instruments: tuple[str, ...]) -> None:
        """Orders decided on an earlier event meet this one's book; IOC remainders are cancelled."""
        keep: list[OrderRequest] = []
        for req in self._next:
            if req.instrument in instruments:
                self._reports.append(self._execute(req))
            else:
                keep.append(req)
        self._next = keep

    def take_reports(self) -> list[OrderReport]:
        out, self._reports = self._reports, []
        return out

    def _set_legs(self, ts: float, market: str, x: Mapping[str, float], yes_sizes: Sequence[float] = (),
                  no_sizes: Sequence[float] = (), yes_prices: Sequence[float] = (),
                  yes_asks: Sequence[float] = ()) -> tuple[str, str]:
        """A binary market's book quotes both legs (``M:yes``, ``M:no``; asks are 100 - opposite
        bids), level by level where the book has its levels' prices, else its touch."""
        ys, ns = x.get("yes_bid_size", 0.0), x.get("no_bid_size", 0.0)
        deep = bool(yes_prices) and len(yes_prices) == len(yes_sizes) and len(yes_asks) == len(no_sizes)
        no_prices = tuple(100.0 - p for p in yes_asks) if deep else ()
        no_asks = tuple(100.0 - p for p in yes_prices) if deep else ()
        for leg, bid, ask, bsz, asz, bp, ap in (
                (f"{market}:yes", x.get("yes_bid", 0.0), x["yes_ask"], yes_sizes or (ys,), no_sizes or (ns,),
                 yes_prices, yes_asks),
                (f"{market}:no", x.get("no_bid", 0.0), x["no_ask"], no_sizes or (ns,), yes_sizes or (ys,),
                 no_prices, no_asks)):
            if leg not in self._instruments:
                self._instruments[leg] = Instrument(leg, Decimal(1), Decimal(1), Decimal(1), ZERO, "binary", leg,
                                                    market, CENTS_QUOTE, maker_fee=ZERO, taker_fee=KALSHI_TAKER_RATE)
            if deep:
                self._quote[leg] = (ts, bid, ask, bsz, asz)
                self._depth[leg] = (bp, ap)
            else:
                self._quote[leg] = (ts, bid, ask, (bsz[0] if bsz else 0.0,), (asz[0] if asz else 0.0,))
            self._used[leg] = {}
            if self._resting:
                self._match_resting(leg)
        return f"{market}:yes", f"{market}:no"

    def _levels(self, instrument: str, side: Side) -> list[tuple[float, float]]:
        """The opposite side, best first: every recorded level of a book, else the touch."""
        _ts, bid, ask, bsz, asz = self._quote[instrument]
        depth = self._depth.get(instrument)
        if side is Side.BUY:
            if depth and asz and len(depth[1]) == len(asz) and depth[1][0] == ask:
                return list(zip(depth[1], asz, strict=True))
            return [(ask, asz[0] if asz else _UNLIMITED)]
        if depth and bsz and len(depth[0]) == len(bsz) and depth[0][0] == bid:
            return list(zip(depth[0], bsz, strict=True))
        return [(bid, bsz[0] if bsz else _UNLIMITED)]

    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        ts, bid, ask, bsz, asz = self._quote[instrument]
        return BookSnapshot(instrument, ts, [(bid, bsz[0] if bsz else _UNLIMITED)], [(ask, asz[0] if asz else _UNLIMITED)])

    def submit(self, req: OrderRequest) -> OrderReport:
        if req.client_order_id in self._orders:
            raise RejectedError(f"duplicate client order id {req.client_order_id}", reason="duplicate_client_order_id")
        if req.instrument not in self._quote:
            raise RejectedError(f"no market data yet for {req.instrument}", reason="no_market")
        _ts, bid, ask, _b, _a = self._quote[req.instrument]
        limit = req.price if req.order_type is OrderType.LIMIT else None
        crossing = limit is None or matching.crosses(req.side, limit, bid, ask)  # a Side is a str
        if crossing and req.tif is TimeInForce.POST_ONLY:
            rep = OrderReport(req.client_order_id, req.instrument, req.side, req.qty, OrderStatus.REJECTED,
                              reason="post-only order would cross the book")
            self._orders[req.client_order_id] = rep
            raise PostOnlyRejected("post-only order would cross the book", reason=rep.reason)
        if self.defer and (crossing or req.tif is TimeInForce.IOC):  # it takes: on the next event's book
            self._next.append(req)
            rep = OrderReport(req.client_order_id, req.instrument, req.side, req.qty, OrderStatus.NEW, ZERO, req.price)
            self._keep(rep)
            return rep
        return self._execute(req)

    def _execute(self, req: OrderRequest) -> OrderReport:
        """Match ``req`` against the current book of its instrument; rest what a limit leaves."""
        inst = self._instruments[req.instrument]
        _ts, bid, ask, _b, _a = self._quote[req.instrument]
        limit = req.price if req.order_type is OrderType.LIMIT else None
        crossing = limit is None or matching.crosses(req.side, limit, bid, ask)
        filled = ZERO
        if crossing and not (_b if req.side is Side.SELL else _a):
            # a bar: unlimited size at the close, so the whole order fills at the touch
            px = _dec_price(ask if req.side is Side.BUY else bid)
            if limit is None or (px <= limit if req.side is Side.BUY else px >= limit):
                self._fill(req, req.qty, px, "taker", inst)
                filled = req.qty
        elif crossing:
            chunks = matching.take(req.side.value, req.qty, limit, self._levels(req.instrument, req.side),
                                   inst.lot_size, self._used[req.instrument])
            for price, qty in chunks:
                self._fill(req, qty, price, "taker", inst)
                filled += qty
        rests = req.order_type is OrderType.LIMIT and req.tif is not TimeInForce.IOC
        if filled == req.qty:
            status = OrderStatus.FILLED
        elif rests:
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
            self._resting[req.client_order_id] = req
        else:
            status = OrderStatus.CANCELLED
        rep = OrderReport(req.client_order_id, req.instrument, req.side, req.qty, status, filled, req.price)
        self._keep(rep)
        return rep

    def _fill(self, req: OrderRequest, qty: Decimal, price: Decimal, liquidity: str, inst: Instrument) -> None:
        rate = inst.maker_fee if liquidity == "maker" else inst.taker_fee
        self._fill_seq += 1
        t = self._quote[req.instrument][0]
        if t != self._dt_for[0]:
            self._dt_for = (t, datetime.fromtimestamp(t, UTC))
        self._fills.append(FillReport(
            f"R{self._fill_seq:012d}", req.client_order_id, req.instrument, req.side, qty, price,
            fill_fee(inst.kind, inst.quote, rate, qty, price), self._dt_for[1], liquidity,
        ))
        self._positions[req.instrument] = self._positions.get(req.instrument, ZERO) + qty * req.side.sign
        if inst.kind == "binary":
            self._net_legs(req.instrument)

    def _net_legs(self, sym: str) -> None:
        """After a fill of a leg: the pairs held on both legs are cash on the venue (as the sim)."""
        market, outcome = binary.split_leg(sym)
        if outcome is None:
            return
        yes, no = binary.leg(market, binary.YES), binary.leg(market, binary.NO)
        n = binary.netted(self._positions.get(yes, ZERO), self._positions.get(no, ZERO))
        if n:
            self._positions[yes] -= n
            self._positions[no] -= n

    def settle(self, market: str, extra: Mapping[str, float]) -> None:
        """A recorded settlement of ``market`` (once per settlement id): the venue pays the legs
        out and zeroes them, and their working orders expire, as on the sim and Kalshi."""
        sid = extra["settled_id"]
        if self._settled.get(market) == sid:
            return
        self._settled[market] = sid
        legs = (binary.leg(market, binary.YES), binary.leg(market, binary.NO))
        for sym in legs:
            self._positions.pop(sym, None)
        for req in [*self._resting.values(), *self._next]:
            if req.instrument in legs and (rep := self.cancel(req.client_order_id, req.instrument)) is not None:
                self._reports.append(rep)

    def _match_resting(self, instrument: str) -> None:
        inst = self._instruments[instrument]
        _ts, bid, ask, _b, _a = self._quote[instrument]
        for cid, req in list(self._resting.items()):
            if req.instrument != instrument or req.price is None:
                continue
            if not matching.crosses(req.side.value, req.price, bid, ask):
                continue
            done = self._orders[cid].filled_qty
            chunks = matching.take(req.side.value, req.qty - done, req.price, self._levels(instrument, req.side),
                                   inst.lot_size, self._used[instrument])
            got = sum((q for _, q in chunks), ZERO)
            if got:
                self._fill(req, got, req.price, "maker", inst)
                total = done + got
                status = OrderStatus.FILLED if total == req.qty else OrderStatus.PARTIALLY_FILLED
                self._orders[cid] = OrderReport(cid, instrument, req.side, req.qty, status, total, req.price)
                if status is OrderStatus.FILLED:
                    del self._resting[cid]

    def _keep(self, rep: OrderReport) -> None:
        """Remember ``rep``; closed orders are kept only while recent (nothing grows per bar)."""
        self._orders[rep.client_order_id] = rep
        if len(self._orders) > 2048:
            for cid in [c for c, r in self._orders.items() if not r.status.is_open][:1024]:
                del self._orders[cid]

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        rep = self._orders.get(client_order_id)
        if rep is None:
            return None
        if rep.status.is_open:
            self._resting.pop(client_order_id, None)
            self._next = [r for r in self._next if r.client_order_id != client_order_id]
            rep = OrderReport(rep.client_order_id, rep.instrument, rep.side, rep.qty, OrderStatus.CANCELLED,
                              rep.filled_qty, rep.price)
            self._orders[client_order_id] = rep
        return rep

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        return self._orders.get(client_order_id)

    def open_orders(self) -> list[OrderReport]:
        return [self._orders[c] for c in (*self._resting, *(r.client_order_id for r in self._next))]

    def fills(self, cursor: str | None = None) -> FillPage:
        out = self._fills
        self._read += len(out)
        self._fills = []
        return FillPage(out, str(self._read))

    def has_unread_fills(self) -> bool:
        return bool(self._fills)

    def positions(self) -> list[PositionReport]:
        return [PositionReport(s, q) for s, q in self._positions.items() if q]

    def balances(self) -> list[BalanceReport]:
        return []
