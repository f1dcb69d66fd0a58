"""What an adapter holds per account: its request budget and, when enabled, its stream.

``book()`` serves the latest streamed book without a request while the connection is live
and fresh; otherwise it asks REST (the adapter's own call, which spends the budget); when
neither can answer it raises :class:`StaleDataError` so a variant skips instead of trading
on an old book. Own fills: the stream only says *when* to read; the REST fill cursor stays
the source of truth, read on every stream signal, after every (re)connect, and at least
every ``fill_poll_s`` as a safety net. Without a live stream the fill cursor is polled, paced
so that it spends at most ``FILL_SHARE`` of the account's budget (a Hyperliquid fill read
weighs 20 of 1,200 a minute: every 4 s; a Kalshi read 1 of 20 a second: every 0.2 s). The
first read from the start of the history (no cursor yet) is never held back, but only once:
an account with no fill yet keeps that empty cursor, and reading it unpaced on every step
spent the whole budget at start and refused every book poll (issue 12).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runner.errors import BudgetError, StaleDataError, TransientError
from venues.base import BookSnapshot, Candle
from venues.ratelimit import Limit, RequestBudget, polling, published, shared_budget
from venues.streams.book import BookCache
from venues.streams.candles import CandleBook, History
from venues.streams.connection import ReconnectBackoff, StreamConnection
from venues.streams.events import EventLog, StreamEvent, StreamState
from venues.streams.protocol import StreamProtocol

_STARTED: weakref.WeakSet[AccountFeed] = weakref.WeakSet()  # feeds whose stream thread runs


def close_started() -> int:
    """Close every stream still running (at exit, so no stream thread outlives the program;
    and after each test). Returns how many were open."""
    feeds = list(_STARTED)
    for feed in feeds:
        feed.close()
    return len(feeds)


atexit.register(close_started)

FILL_FOLLOW_S = 2.0  # after a fill signal, keep reading REST fills this long...
FILL_FOLLOW_EVERY_S = 0.5  # ...at most this often
FILL_SHARE = 0.25  # polled without a stream, fill reads spend at most this share of the budget
_UNPACED: ContextVar[bool] = ContextVar("fills_unpaced", default=False)
_ONE_PACE: ContextVar[list[bool] | None] = ContextVar("fills_one_pace", default=None)


@contextmanager
def every_fill_read() -> Iterator[None]:
    """Fill reads made inside are not paced: an audit reads the history it needs now (the
    pacing is the trading loop's, which re-reads anyway; an audit skipping a page would
    see fills in flight as a breach). They still spend the budget."""
    token = _UNPACED.set(True)
    try:
        yield
    finally:
        _UNPACED.reset(token)


@contextmanager
def one_fill_pace() -> Iterator[None]:
    """The fill reads inside share one pacing decision, the first one's. An account whose
    variants read from different cursors makes one read per cursor each pass; paced one by one,
    the first read took the slot every time and the others were skipped for as long as the
    account traded (their fills never booked)."""
    token = _ONE_PACE.set([])
    try:
        yield
    finally:
        _ONE_PACE.reset(token)


class Stream(Protocol):
    """What the feed needs of a stream: ours (:class:`StreamConnection`) or an SDK's wrapped."""

    state: StreamState
    connects: int
    last_heard: float
    stale_after_s: float

    def start(self) -> None: ...
    def want(self, instrument: str) -> None: ...
    def want_candles(self, instrument: str, timeframe_s: int) -> None: ...
    def is_live(self) -> bool: ...
    def close(self, timeout: float = 5.0) -> None: ...


@dataclass(frozen=True, slots=True)
class StreamParts:
    """What an SDK-driven stream is built from: the feed's cache, log and fill wake-up."""

    account: str
    cache: BookCache
    log: EventLog
    wake_fills: Callable[[], None]
    resync: Callable[[str], BookSnapshot] | None
    stale_after_s: float | None
    backoff: ReconnectBackoff
    candles: CandleBook


class AccountFeed:
    def __init__(self, account: str, budget: RequestBudget, *,
                 protocol: Callable[[], StreamProtocol] | None = None,
                 stream: Callable[[StreamParts], Stream] | None = None,
                 resync: Callable[[str], BookSnapshot] | None = None,
                 stale_after_s: float | None = None, fill_poll_s: float = 5.0,
                 fill_follow_s: float = FILL_FOLLOW_S, backoff: ReconnectBackoff = ReconnectBackoff(),
                 stamp_as_of: bool = False, fill_weight: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``protocol`` (a wire protocol we run) or ``stream`` (an SDK's, wrapped); neither: REST only.
        ``stamp_as_of``: the venue's books carry no time of their own (Kalshi), so a streamed book
        is stamped with when the stream was last heard from, as a REST read is with its own time,
        and a quiet market does not look stale."""
        self.account = account
        self.budget = budget
        self.cache = BookCache()
        self.log = EventLog()
        # closed candles of the venue's candle channels; a close wakes the account's thread as a book does
        self.candles = CandleBook(account, self.log, on_close=self.cache.nudge)
        self._protocol = protocol
        self._stream = stream
        self._resync = resync
        self._stale_after_s = stale_after_s
        self._backoff = backoff
        self._fill_poll_s = fill_poll_s
        rates = [lim.rate for lim in budget.limits.values()]
        self.fill_poll_down_s = fill_weight / (FILL_SHARE * min(rates)) if rates else 0.0
        self.fill_follow_s = fill_follow_s
        self.stamp_as_of = stamp_as_of
        self._clock = clock
        self._conn: Stream | None = None
        self._woken = threading.Event()
        self._sent = threading.Event()  # an order was sent: without a stream, read fills soon
        self._last_fill_read = 0.0
        self._read_from_start = False  # the first read from no cursor was made (see fills_due)
        self._follow_until = 0.0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._protocol is not None or self._stream is not None

    @property
    def connection(self) -> Stream | None:
        return self._conn

    def start(self) -> Stream:
        if self._conn is not None:  # the hot path: no lock once started
            return self._conn
        with self._lock:
            if self._conn is None:
                if self._stream is not None:
                    self._conn = self._stream(StreamParts(self.account, self.cache, self.log, self._woken.set,
                                                          self._resync, self._stale_after_s, self._backoff,
                                                          self.candles))
                else:
                    assert self._protocol is not None
                    self._conn = StreamConnection(self.account, self._protocol(), self.cache, self.log,
                                                  resync=self._resync, on_fill=self._woken.set,
                                                  backoff=self._backoff, stale_after_s=self._stale_after_s,
                                                  candles=self.candles)
                self._conn.start()
                _STARTED.add(self)
            return self._conn

    # --- books -----------------------------------------------------------------------------
    def book(self, instrument: str, depth: int, rest: Callable[[], BookSnapshot]) -> BookSnapshot:
        if self.enabled:
            conn = self.start()
            conn.want(instrument)
            if conn.is_live():
                hit = self.cache.get(instrument)
                # an empty streamed book is no answer (a settled market says why only by REST)
                if hit is not None and (hit[0].bids or hit[0].asks):
                    book = hit[0]
                    if len(book.bids) > depth or len(book.asks) > depth:
                        book = replace(book, bids=book.bids[:depth], asks=book.asks[:depth])
                    if self.stamp_as_of:  # no venue time: the book is current as of the last word heard
                        as_of = time.time() - (time.monotonic() - conn.last_heard)
                        if as_of > book.ts:
                            book = replace(book, ts=as_of)
                    return book
        try:
            with polling():  # the REST fallback may spend only the polls' share of the budget
                return rest()
        except TransientError as exc:
            if not self.enabled and not isinstance(exc, BudgetError):
                raise  # no stream to blame: the venue's own trouble, handled as such
            state = self._conn.state.value if self._conn else "off"
            raise StaleDataError(f"{self.account}: stale market data for {instrument}: stream {state}, "
                                 f"REST fallback refused ({exc})", venue=self.account,
                                 retry_after=exc.retry_after) from exc

    # --- candles ---------------------------------------------------------------------------
    def closed_bars(self, instrument: str, timeframe_s: int, now: float, after: float | None,
                    history: History | None) -> list[Candle] | None:
        """Closed candles of the venue's candle channel since the last call (see ``candles``);
        None without a stream (bars are then built from books). ``history`` is the adapter's
        REST candle read, for the resync after each (re)connection."""
        if not self.enabled:
            return None
        conn = self.start()
        conn.want_candles(instrument, timeframe_s)
        return self.candles.drain(instrument, timeframe_s, now, after, history, conn.is_live())

    def candle_state(self, instrument: str, timeframe_s: int) -> tuple[bool, str | None]:
        """Whether the candle stream is live now: connected, fresh, and its candle channel heard
        within a period (while it is not, bars are built from books); and how the latest candle
        handed over came ("stream", "rest" or None)."""
        conn = self._conn
        live = conn is not None and conn.is_live() and self.candles.heard(instrument, timeframe_s)
        return live, self.candles.via(instrument, timeframe_s)

    # --- fills -----------------------------------------------------------------------------
    def fills_due(self, from_start: bool = False) -> bool:
        """Whether to read the REST fill cursor now (paced within the fills' share without a
        live stream). ``from_start``: the read has no cursor yet; the first such read is due at
        once (the REST history is the truth at start), later ones are paced like any other.

        A signal is followed by a few more reads (every ``FILL_FOLLOW_EVERY_S`` for
        ``fill_follow_s``): a venue's REST view can lag its stream by a moment."""
        if _UNPACED.get():
            return True
        if from_start and not self._read_from_start:
            self._read_from_start = True  # the start's own read: not counted against the pace
            return True
        shared = _ONE_PACE.get()
        if shared:
            return shared[0]  # decided by this pass's first read (``one_fill_pace``)
        due = self._fill_pace()
        if shared is not None:
            shared.append(due)
        return due

    def _fill_pace(self) -> bool:
        conn = self._conn
        now = self._clock()
        if conn is None or not conn.is_live():  # polled: paced within the fills' share of the budget
            since = now - self._last_fill_read
            sent = self._sent.is_set() and since >= FILL_FOLLOW_EVERY_S  # an order just went out
            if since < self.fill_poll_down_s and not self._woken.is_set() and not sent:
                return False
            self._woken.clear()
            self._sent.clear()
            self._last_fill_read = now
            return True
        if self._woken.is_set():
            self._woken.clear()  # before the read: a fill signalled during it wakes the next one
            self._follow_until = now + self.fill_follow_s
        elif now - self._last_fill_read < self._fill_poll_s and (
                now >= self._follow_until or now - self._last_fill_read < FILL_FOLLOW_EVERY_S):
            return False
        self._last_fill_read = now
        return True

    def order_sent(self) -> None:
        """An order went out: without a stream to signal its fills, the next read comes early
        (a taker's fill read 4 s later lets a strategy act on a position it no longer has)."""
        self._sent.set()

    # --- state -----------------------------------------------------------------------------
    def drain_events(self) -> list[StreamEvent]:
        return self.log.drain()

    def status(self) -> dict[str, Any]:
        conn = self._conn
        state = StreamState.OFF if not self.enabled else (conn.state if conn else StreamState.IDLE)
        out: dict[str, Any] = {"stream": state.value, "budget": self.budget.status(), "events": self.log.counts()}
        if conn is not None:
            out["connects"] = conn.connects
            out["silent_s"] = round(time.monotonic() - conn.last_heard, 3) if conn.last_heard else None
            out["stale_after_s"] = conn.stale_after_s
        return out

    def close(self) -> None:
        _STARTED.discard(self)
        if self._conn is not None:
            self._conn.close()


def feed_for(account: str, adapter: str, settings: Any, *,
             protocol: Callable[[], StreamProtocol] | None = None,
             stream: Callable[[StreamParts], Stream] | None = None,
             resync: Callable[[str], BookSnapshot] | None = None,
             limits: Mapping[str, Limit] | None = None, fill_weight: float = 1.0) -> AccountFeed:
    """The feed of an account from its validated settings (``HttpSettings`` keys): the
    venue's published limits (or ``limits``, e.g. a Kalshi tier) scaled by ``budget_scale``;
    the stream only if ``stream``."""
    base = published(adapter) if limits is None else dict(limits)
    budget = shared_budget(account, adapter, {k: v.scaled(settings.budget_scale) for k, v in base.items()})
    return AccountFeed(account, budget, protocol=protocol if settings.stream else None,
                       stream=stream if settings.stream else None, resync=resync,
                       stale_after_s=settings.stream_stale_s, fill_poll_s=settings.fill_poll_s,
                       fill_weight=fill_weight)
