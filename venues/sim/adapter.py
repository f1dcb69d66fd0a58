"""The ``sim`` adapter: a venue in a file. Deterministic given its seed and the call sequence.

It keeps its own orders, fills, positions and balances in ``state/sim/<account>.db``
(never the ledger), matches against a synthetic L2 book (partial fills when thin), rejects
post-only orders that would cross and limit prices outside its band, and fills resting
orders queue-free when the market trades through them. With ``fill_latency: next_step`` an
order that takes is held until the next market step and meets that step's book (the book the
strategy sees next), as the backtest fills on the next event: ``catch_up`` hands the outcomes out.
On the wall clock the runtime then steps the market (``lockstep``): one step per ``catch_up``,
on its own time grid, ``steps_due`` passes when the loop fell behind, and reads in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from runner.errors import AmbiguousError, PostOnlyRejected, RejectedError, TransientError
from runner.money import CENTS_QUOTE
from venues.base import (
    AccountConfig,
    BalanceReport,
    BookSnapshot,
    Candle,
    Capabilities,
    CashflowReport,
    FillPage,
    Instrument,
    OrderReport,
    OrderRequest,
    OrderStatus,
    PositionReport,
    Side,
    VenueAdapter,
    settlement_cashflows,
)
from venues.sim import history, reads
from venues.sim.config import SimConfig
from venues.sim.derivatives import DerivativesMixin
from venues.sim.latency import HeldTakers, takes
from venues.sim.market import build_book, next_mid, step_rng
from venues.sim.orders import POST_ONLY_CROSS, SimOrders
from venues.sim.store import SimStore
from venues.sim.stream import SimStream
from venues.streams.feed import StreamParts, feed_for

CATCH_UP_STEPS = 5  # steps a market behind the clock makes up; beyond, it jumps (after a long stop)
#: faults that strike after the order was taken: the caller cannot tell, so they are ambiguous
AFTER_ACCEPT = {"timeout_after_accept": "timed out waiting for the venue's answer",
                "5xx_after_accept": "502 after the order was taken",
                "drop_after_accept": "connection dropped after sending"}


class SimAdapter(DerivativesMixin, VenueAdapter):
    capabilities = Capabilities(
        post_only=True, ioc=True, market_orders=True, cancel_all=True, price_band=True, funding=True,
        binary_markets=True, nets_binary_legs=True, reduce_only=True,
    )

    def __init__(self, account: str, config: SimConfig, store_path: Path | str,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(account)
        self.config = config
        self.store = SimStore(store_path)
        self.store.db.executescript(history.SCHEMA)
        self.clock = self._venue_clock(clock)
        self._instruments: dict[str, Instrument] = {}
        self._books: dict[str, tuple[int, BookSnapshot]] = {}
        self._used: dict[str, dict[float, float]] = {}
        # Test hooks that make the sim misbehave the way real venues do (see tests/kit).
        self.faults: list[str] = []
        self._stream: SimStream | None = None  # set by the feed when the account streams
        self._held = HeldTakers()  # fill_latency: next_step
        self._deferring = False  # inside the last step of an advance: held orders meet its book
        self.orders = SimOrders(account, self.store, self._instruments, self._used, self.faults, self._held,
                                lambda: self.clock())  # the venue's clock, as replaced by tests
        self.orders.after_fill = self._net_legs  # YES against NO, as Kalshi nets them
        self._driven = False  # a runtime steps the market through catch_up (lock-step, see there)
        self.pre_history = True  # False: no candle pre-history (instruments read offline need none)

    # --- setup -------------------------------------------------------------------------
    def _venue_clock(self, wall: Callable[[], float]) -> Callable[[], float]:
        """Venue time: ``speed`` times the wall clock, never behind what the store has seen."""
        speed = self.config.speed
        if self.config.clock != "wall" or speed == 1.0:
            return wall
        row = self.store.db.execute("SELECT MAX(ts) FROM market").fetchone()
        w0 = wall()
        v0 = max(w0, row[0] or 0.0)
        return lambda: v0 + (wall() - w0) * speed

    @property
    def step_s(self) -> float:
        """Venue seconds per market step."""
        return self.config.tick_interval_s * (self.config.speed if self.config.clock == "wall" else 1.0)

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        if instrument not in self.config.instruments:
            return []
        return history.candles(self.store.db, instrument, timeframe_s, limit, self.clock())

    def connect(self) -> None:
        for sym, ic in self.config.instruments.items():
            quoted = ic.underlying or sym  # a perp (BTC-PERP) is quoted like its underlying (BTC-USD)
            self._instruments[sym] = Instrument(
                symbol=sym, tick_size=ic.tick_size, lot_size=ic.lot_size, min_size=ic.min_size,
                min_notional=ic.min_notional, kind=ic.kind, venue_symbol=sym,
                base=sym.split("-")[0], quote=quoted.split("-")[-1] if "-" in quoted else "USD",
                maker_fee=ic.maker_fee, taker_fee=ic.taker_fee, price_band_pct=self.config.price_band_pct,
            )
        with self.store.tx() as db:
            if self.store.balance("USD") is None:
                self.store.set_balance("USD", self.config.starting_cash)
            for sym, ic in self.config.instruments.items():
                db.execute(
                    "INSERT OR IGNORE INTO market(instrument, step, mid, ts) VALUES (?, 0, ?, ?)",
                    (sym, ic.mu, self.clock()),
                )
            self._connect_binary(db)
            self._held.load(db)
            for sym, ic in self.config.instruments.items():
                if not self.pre_history:
                    break
                step, mid, ts = db.execute("SELECT step, mid, ts FROM market WHERE instrument=?", (sym,)).fetchone()
                history.ensure(db, self.config.seed, sym, ic, step, mid, ts, self.step_s)

    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        self.store.close()

    # --- market ------------------------------------------------------------------------
    def advance(self, steps: int = 1) -> None:
        """Move every instrument's market ``steps`` steps and fill resting orders it crosses."""
        for i in range(steps):
            self._deferring = i == steps - 1  # held orders meet the last step's book: the one served next
            now = self.clock()
            with self.store.tx() as db:
                mids: dict[str, float] = {}
                # spot first: a perp's mid follows its underlying's mid of the same step
                for sym, ic in sorted(self.config.instruments.items(), key=lambda kv: kv[1].underlying is not None):
                    step, mid = db.execute("SELECT step, mid FROM market WHERE instrument=?", (sym,)).fetchone()
                    if ic.underlying:
                        new_mid = self._perp_step(db, sym, ic, step + 1, mids)
                    else:
                        new_mid = next_mid(ic, mid, step_rng(self.config.seed, sym, step + 1))
                    mids[sym] = new_mid
                    db.execute("UPDATE market SET step=?, mid=?, ts=? WHERE instrument=?", (step + 1, new_mid, now, sym))
                    history.record(db, sym, step + 1, now, new_mid)
                    self._match_resting(db, sym, self._book_at(sym, step + 1, new_mid))
                self._advance_events(db)
        self._deferring = False

    @property
    def lockstep(self) -> bool:
        """The latency model on the wall clock: the runtime steps the market, one step per
        ``catch_up``, so every step's book is read (and recorded) before the next step comes and
        a held order meets exactly the book the strategy sees next, however late the loop is."""
        return self.config.fill_latency == "next_step" and self.config.clock == "wall"

    def steps_due(self) -> int:
        return max(1, self._due_steps()) if self.lockstep else 1

    def catch_up(self) -> list[OrderReport] | None:
        if self.config.fill_latency == "none":
            return None
        if self.lockstep:
            self._driven = True  # from now on a read serves the current step; this call moves it
            if self._due_steps():
                self._step_on_grid()
        elif due := self._due_steps():
            self.advance(due)
        return [r for cid, sym in self._held.take_decided() if (r := self.order(cid, sym)) is not None]

    def _step_on_grid(self) -> None:
        """One market step, at its own time (``step_s`` after the last; a loop more than
        ``CATCH_UP_STEPS`` behind jumps): its books and fills carry it, so the steps of a loop
        that fell behind are spaced as they would have been, and fall in the same bars."""
        last = self.store.db.execute("SELECT MIN(ts) FROM market").fetchone()[0]
        wall = self.clock
        at = max(last + self.step_s, wall() - CATCH_UP_STEPS * self.step_s)
        self.clock = lambda: at
        try:
            self.advance(1)
        finally:
            self.clock = wall

    def _due_steps(self) -> int:
        if self.config.clock != "wall":
            return 0
        row = self.store.db.execute("SELECT MIN(ts) FROM market").fetchone()
        if row[0] is None:
            return 0
        due = int((self.clock() - row[0]) / self.step_s)
        return min(due, CATCH_UP_STEPS)  # after a long stop the market jumps a few steps, it does not replay hours

    def _book_at(self, sym: str, step: int, mid: float, ts: float | None = None) -> BookSnapshot:
        """The book of ``sym`` at ``step``, stamped with the step's time (``ts``; default now)."""
        cached = self._books.get(sym)
        if cached and cached[0] == step:
            return cached[1]
        ic = self.config.instruments[sym]
        rng = step_rng(self.config.seed, sym, step)
        rng.random()  # the first draw moved the mid; the book uses the rest of the stream
        bids, asks = build_book(ic, mid, self.config.depth, rng)
        vol = abs(rng.gauss(0.0, ic.level_size))
        extra = self._perp_extra(sym, step) if ic.underlying else {}
        snap = BookSnapshot(sym, self.clock() if ts is None else ts, bids, asks, volume=vol, extra=extra)
        self._books[sym] = (step, snap)
        self._used[sym] = {}
        if self._stream is not None:
            self._stream.publish(snap)
        return snap

    def _current(self, sym: str) -> BookSnapshot:
        if sym not in self.config.instruments:
            snap = self._current_binary(sym)
            if snap is not None:
                return snap
        row = self.store.db.execute("SELECT step, mid, ts FROM market WHERE instrument=?", (sym,)).fetchone()
        if row is None:
            raise RejectedError(f"unknown instrument {sym!r} on {self.account}", venue=self.account)
        return self._book_at(sym, row[0], row[1], row[2])

    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """With ``stream: true`` the book each market step pushed; else (or while the stream is
        down) computed on request, as a REST read."""
        if self.feed is None or not self.feed.enabled:
            return self._rest_book(instrument, depth)
        if self._stream is not None:
            self._stream.follow(self.faults)
        due = 0 if self._driven else self._due_steps()
        if due:
            self.advance(due)
        return self.feed.book(instrument, depth, lambda: self._rest_book(instrument, depth))

    def stream(self, parts: StreamParts) -> SimStream:
        self._stream = SimStream(parts, clock=self.clock)
        return self._stream

    def _rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        self._fault("book")
        due = 0 if self._driven else self._due_steps()  # a bare reader (no runtime) moves it on read
        if due:
            self.advance(due)
        snap = self._current(instrument)
        if depth < len(snap.bids):
            return BookSnapshot(snap.instrument, snap.ts, snap.bids[:depth], snap.asks[:depth], snap.volume, snap.extra)
        return snap

    # --- orders ------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> OrderReport:
        self._fault("submit")
        if "5xx:submit" in self.faults:  # a gateway error: the order may or may not have arrived
            self.faults.remove("5xx:submit")
            raise AmbiguousError(f"{self.account}: 502 after sending", venue=self.account,
                                 client_order_id=req.client_order_id)
        inst = self.instrument(req.instrument)
        book = self._current(req.instrument)
        existing = self.order(req.client_order_id, req.instrument)
        if existing is not None:
            raise RejectedError(f"duplicate client order id {req.client_order_id}", venue=self.account,
                                reason="duplicate_client_order_id")
        reason = self.orders.refusal(req, inst, book)
        now = self.clock()
        with self.store.tx() as db:
            vid = f"S{self.store.next_id('order_seq')}"
            db.execute(
                "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (req.client_order_id, vid, req.instrument, req.side.value, str(req.qty),
                 None if req.price is None else str(req.price), req.order_type.value, req.tif.value,
                 "rejected" if reason else "new", "0", "0", reason, now),
            )
            if not reason and self.config.fill_latency == "next_step" and takes(req, book):
                self._held.hold(db, req)
            elif not reason:
                self.orders.execute_taker(db, req, inst, book, vid)
        report = self.order(req.client_order_id, req.instrument)
        assert report is not None
        for fault, why in AFTER_ACCEPT.items():
            if fault in self.faults:
                self.faults.remove(fault)
                raise AmbiguousError(f"{self.account}: {why}", venue=self.account, client_order_id=req.client_order_id)
        if report.status is OrderStatus.REJECTED and reason == POST_ONLY_CROSS:
            raise PostOnlyRejected(f"{self.account} rejected {req.client_order_id}: {reason}",
                                   venue=self.account, reason=reason)
        if report.status is OrderStatus.REJECTED:
            raise RejectedError(f"{self.account} rejected {req.client_order_id}: {reason}",
                                venue=self.account, reason=reason)
        return report

    def _match_resting(self, db, sym: str, book: BookSnapshot) -> None:  # type: ignore[no-untyped-def]
        self.orders.match_resting(db, sym, book, self._deferring)

    def _record_fill(self, db, cid: str, vid: str, sym: str, side: Side, qty: Decimal, price: Decimal,  # type: ignore[no-untyped-def]
                     liquidity: str, inst: Instrument) -> None:
        self.orders.record_fill(db, cid, vid, sym, side, qty, price, liquidity, inst)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        self._fault("cancel")
        self.orders.cancel(client_order_id)
        return self.order(client_order_id, instrument)

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        return reads.order(self.store.db, client_order_id)

    def open_orders(self) -> list[OrderReport]:
        return reads.open_orders(self.store.db)

    def fills(self, cursor: str | None = None) -> FillPage:
        self._fault("fills")
        return reads.fills(self.store.db, cursor)

    def positions(self) -> list[PositionReport]:
        return reads.positions(self.store.db)

    def balances(self) -> list[BalanceReport]:
        return reads.balances(self.store.db)

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """Funding the sim paid or charged on its perps (its funding table) and the payouts of
        settled binary markets (as Kalshi's settlements), oldest first."""
        out = [c for c in reads.funding_records(self.store.db) if since is None or c.ts > since]  # as datetimes
        out += settlement_cashflows(self.settlements(), since, CENTS_QUOTE)
        return sorted(out, key=lambda c: (c.ts, c.record_id))

    def _fault(self, where: str) -> None:
        if f"down:{where}" in self.faults or "down" in self.faults:
            raise TransientError(f"{self.account}: venue unavailable (503)", venue=self.account, retry_after=1.0)


def _config(account: AccountConfig) -> SimConfig:
    try:
        return SimConfig.model_validate(dict(account.settings))
    except ValidationError as exc:
        from runner.errors import BadInputError

        raise BadInputError(f"venues.yaml: {account.name}: {exc}") from None


def create(account: AccountConfig) -> SimAdapter:
    config = _config(account)
    path = Path(config.store) if config.store else account.home / "state" / "sim" / f"{account.name}.db"
    sim = SimAdapter(account.name, config, path)
    sim.feed = feed_for(account.name, "sim", config, stream=sim.stream, resync=sim._rest_book)
    return sim


def in_memory(account: AccountConfig) -> SimAdapter:
    """A connected sim of ``account`` whose store lives in memory: nothing is written."""
    sim = SimAdapter(account.name, _config(account), ":memory:")
    sim.connect()
    return sim


def offline_instruments(account: AccountConfig) -> Mapping[str, Instrument]:
    """The instruments of a sim account, from its settings alone (its store is not opened)."""
    sim = SimAdapter(account.name, _config(account), ":memory:")
    sim.pre_history = False  # a backtest's (or validate's) instruments: 0.2 s of candles spared
    sim.connect()
    instruments = sim.instruments()
    sim.close()
    return instruments
