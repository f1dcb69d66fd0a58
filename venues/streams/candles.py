"""Closed candles from a venue's candle channel, each handed over once, after it closed.

A venue's candle updates in place until its period ends, so a streamed candle is only handed
over once it is closed: the venue said so (Alpaca sends a minute bar once the minute is over),
a candle of a later period arrived, or the venue clock passed the end by ``grace_s`` (a quiet
market sends no next candle; an update for it arriving later is dropped, never handed twice).
The clock closes a candle only while the stream is up: one whose updates may have been lost
waits for the new connection. While the stream is down (or never came up) nothing is read here:
the runner builds the bars from the books meanwhile (``runner.marketdata.native``), on time,
where reading REST history after each close came a grace and a poll late and spent the budget.

A (re)connection can lose updates, and with them the final state of a candle or whole candles
closed meanwhile: after every connection the candles since the last one handed over are read
from the venue's REST history (``candleSnapshot``, ``fetch_ohlcv``, historical bars) before any
newer one is handed, so none is lost or doubled. While that read fails, the newer closed candles
wait (at most ``MAX_HELD``; then they go, and the gap is recorded as an error event).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from venues.base import Candle
from venues.streams.events import EventLog, StreamEvent, StreamEventKind

K = StreamEventKind
History = Callable[[str, int, int], list[Candle]]  # (instrument, timeframe_s, limit) -> closed, oldest first
MAX_HELD = 5  # closed candles kept back while the REST resync fails, before they go without it
MAX_RESYNC = 500  # candles read back at most
SILENT_S = 10.0  # a candle channel silent a period + the grace + this long is not live
RETRY_S = 2.0  # a failed resync is tried again after this long (local time), not on every loop


class CandleTap:
    """One instrument, one timeframe. Not thread-safe: :class:`CandleBook` locks around it."""

    __slots__ = ("instrument", "tf", "grace_s", "handed", "closed", "pending", "ready", "resync", "via", "_rest",
                 "heard")

    def __init__(self, instrument: str, timeframe_s: int, grace_s: float) -> None:
        self.instrument = instrument
        self.tf = timeframe_s
        self.grace_s = grace_s
        self.handed: float | None = None  # open of the latest candle handed over (or seeded)
        self.closed: float | None = None  # open of the latest candle known closed
        self.pending: Candle | None = None  # the candle in progress
        self.ready: list[Candle] = []  # closed, not yet handed over, oldest first
        self.resync = True  # the first connection, too, may follow bars handed from history
        self.via: str | None = None  # how the latest candle handed over came: "stream" or "rest"
        self._rest: set[float] = set()  # opens of the ready candles REST history gave
        self.heard: float | None = None  # local monotonic time of the latest streamed update

    def seed(self, after_end: float | None) -> None:
        """Bars ending at or before ``after_end`` were handed over already (warm-up history)."""
        if after_end is None:
            return
        start = after_end - self.tf
        if self.handed is None or start > self.handed:
            self.handed = start
        if self.closed is None or start > self.closed:
            self.closed = start
        self.ready = [c for c in self.ready if c.ts > start]
        if self.pending is not None and self.pending.ts <= start:
            self.pending = None

    def update(self, c: Candle, final: bool) -> None:
        """A streamed candle, in progress (``final`` False) or stated closed by the venue."""
        if self.closed is not None and c.ts <= self.closed:
            return  # a late update of a candle already closed: dropped
        p = self.pending
        if p is not None and c.ts > p.ts:
            self._close(p)  # a later period began: the one in progress is over
            p = self.pending = None
        if final:
            self._close(c)
            if p is not None and p.ts == c.ts:
                self.pending = None
        else:
            self.pending = c

    def tick(self, now: float) -> None:
        """The venue clock says ``now``: a candle whose period ended ``grace_s`` ago is closed."""
        p = self.pending
        if p is not None and p.ts + self.tf + self.grace_s <= now:
            self._close(p)
            self.pending = None

    def _close(self, c: Candle) -> None:
        self.ready.append(c)
        self.closed = c.ts

    def merge(self, history: list[Candle]) -> int:
        """REST history after a (re)connection: it fills what the stream missed and wins over a
        streamed candle of the same period (its final state). Returns how many it gave."""
        base = self.handed if self.handed is not None else -math.inf
        by_open = {c.ts: c for c in self.ready}
        added = 0
        for c in history:
            if c.ts > base:
                added += 1
                by_open[c.ts] = c
                self._rest.add(c.ts)
        self.ready = sorted(by_open.values(), key=lambda c: c.ts)
        if self.ready:
            last = self.ready[-1].ts
            self.closed = last if self.closed is None else max(self.closed, last)
            if self.pending is not None and self.pending.ts <= last:
                self.pending = None
        self.resync = False
        return added

    def take(self) -> list[Candle]:
        out, self.ready = self.ready, []
        if out:
            self.handed = out[-1].ts
            self.via = "rest" if out[-1].ts in self._rest else "stream"
            self._rest.clear()
        return out


class CandleBook:
    """The taps of one account: written by the stream thread (``update``, ``reconnected``),
    drained by the trading thread (``drain``), which also runs the REST resync."""

    def __init__(self, account: str, log: EventLog, grace_s: float = 2.0,
                 clock: Callable[[], float] = time.time, on_close: Callable[[], None] | None = None) -> None:
        """``on_close``: called (by the stream thread) when an update closed a candle, so the
        account's thread wakes now to hand it over rather than at its next book or loop tick."""
        self.account = account
        self.log = log
        self.grace_s = grace_s
        self._clock = clock
        self._on_close = on_close
        self._taps: dict[tuple[str, int], CandleTap] = {}
        self._retry_at: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def _tap(self, instrument: str, timeframe_s: int) -> CandleTap:
        tap = self._taps.get((instrument, timeframe_s))
        if tap is None:
            tap = self._taps[(instrument, timeframe_s)] = CandleTap(instrument, timeframe_s, self.grace_s)
        return tap

    def update(self, instrument: str, timeframe_s: int, candle: Candle, final: bool = False) -> None:
        with self._lock:
            tap = self._tap(instrument, timeframe_s)
            tap.heard = time.monotonic()
            before = len(tap.ready)
            tap.update(candle, final)
            closed = len(tap.ready) > before
        if closed and self._on_close is not None:
            self._on_close()

    def pending(self, instrument: str, timeframe_s: int) -> Candle | None:
        """The candle in progress as the stream last stated it (None before any)."""
        with self._lock:
            tap = self._taps.get((instrument, timeframe_s))
            return tap.pending if tap is not None else None

    def via(self, instrument: str, timeframe_s: int) -> str | None:
        """How the latest candle handed over came: "stream" or "rest" (a resync); None before any."""
        with self._lock:
            tap = self._taps.get((instrument, timeframe_s))
            return tap.via if tap is not None else None

    def heard(self, instrument: str, timeframe_s: int) -> bool:
        """Whether the channel gave an update within a period and the grace (and ``SILENT_S``): a
        socket live for books whose candle channel says nothing (refused, or a socket of its
        own that is down, as OKX's business one) is no source of bars."""
        with self._lock:
            tap = self._taps.get((instrument, timeframe_s))
            last = tap.heard if tap is not None else None
        return last is not None and time.monotonic() - last <= timeframe_s + self.grace_s + SILENT_S

    def reconnected(self) -> None:
        """A new connection: what closed while there was none is read back by REST first (now,
        not after the pacing of reads while it was down)."""
        with self._lock:
            self._retry_at.clear()
            for tap in self._taps.values():
                tap.resync = True

    def disconnected(self) -> None:
        """The stream is down (dropped or stale): updates may be lost from here on."""
        with self._lock:
            for tap in self._taps.values():
                tap.resync = True

    def drain(self, instrument: str, timeframe_s: int, now: float, after: float | None,
              history: History | None, live: bool = True) -> list[Candle]:
        """The candles closed since the last drain, oldest first; ``after``: the end of the last
        bar the variants were handed (warm-up and bars built from books included); ``now``: the
        venue clock; ``live``: whether the stream is up. While it is down nothing new closes here
        and nothing is read: the first drain on a new connection reads back what closed since."""
        key = (instrument, timeframe_s)
        with self._lock:
            tap = self._tap(instrument, timeframe_s)
            tap.seed(after)
            if not live:
                return tap.take()  # closed before the drop: still the venue's own candles
            tap.tick(now)
            if not tap.resync or history is None or tap.handed is None:
                tap.resync = False  # nothing to read back (or nothing handed yet: nothing to fill in)
                return tap.take()
            if self._clock() < self._retry_at.get(key, 0.0):
                return []  # the newer candles wait for the read
            since = tap.handed
            need = min(MAX_RESYNC, math.ceil((max(now, self._clock()) - since) / timeframe_s) + 1)
        try:
            got = history(instrument, timeframe_s, need)  # outside the lock: the stream goes on
        except Exception as exc:  # budget spent, venue down: hold the newer candles, retry next time
            with self._lock:
                held = len(tap.ready)
                self._retry_at[key] = self._clock() + RETRY_S
                if held < MAX_HELD:
                    self._event(K.ERROR, instrument, f"candle resync failed, {held} bars held: {exc}")
                    return []
                tap.resync = False
                self._event(K.ERROR, instrument, f"candle resync failed, {held} bars handed without it "
                                                 f"(bars may be missing before them): {exc}")
                return tap.take()
        with self._lock:
            added = tap.merge(got)
            tap.tick(now)
            out = tap.take()
        if added:  # a read that found nothing the stream had not given is no repair (each start's first)
            self._event(K.RESYNC, instrument, f"{timeframe_s}s candles: {added} bars from REST history")
        return out

    def _event(self, kind: StreamEventKind, instrument: str, detail: str) -> None:
        self.log.add(StreamEvent(self._clock(), self.account, kind, "candle", instrument, detail))
