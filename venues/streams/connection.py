"""One WebSocket connection per account, run on its own asyncio loop in a daemon thread.

It subscribes what the adapter wants, sends heartbeats, declares the stream stale when the
venue is silent past its limit (and drops the socket), reconnects with exponential backoff
and full jitter, and on a sequence gap forgets the book, puts a REST snapshot in its place
and asks the venue for the book afresh. Every such step is a :class:`StreamEvent`. The
trading loop never waits on it: it only reads the book cache and the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from venues.base import BookSnapshot
from venues.streams.book import BookCache
from venues.streams.candles import CandleBook
from venues.streams.events import EventLog, StreamEvent, StreamEventKind, StreamState
from venues.streams.protocol import Ack, BookUpdate, CandleUpdate, FillSignal, Gap, StreamProtocol, VenueError

K = StreamEventKind
LASTED_S = 60.0  # a connection this old had worked: its loss is not a reason to wait longer


@dataclass(frozen=True, slots=True)
class ReconnectBackoff:
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)], never below a tenth of base."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(attempt, 30)))
        return max(self.base_s / 10, rng.uniform(0, ceiling))


class StreamConnection:
    def __init__(self, account: str, protocol: StreamProtocol, cache: BookCache, log: EventLog, *,
                 resync: Callable[[str], BookSnapshot] | None = None,
                 on_fill: Callable[[], None] = lambda: None,
                 backoff: ReconnectBackoff = ReconnectBackoff(),
                 stale_after_s: float | None = None, heartbeat_s: float | None = None,
                 candles: CandleBook | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.account = account
        self.candles = candles
        self._candles_wanted: set[tuple[str, int]] = set()
        self._candles_subscribed: set[tuple[str, int]] = set()  # on the current connection
        self.protocol = protocol
        self.cache = cache
        self.log = log
        self._resync = resync
        self._on_fill = on_fill
        self.backoff = backoff
        self.stale_after_s = stale_after_s or protocol.stale_after_s
        self.heartbeat_s = heartbeat_s or min(protocol.heartbeat_s, self.stale_after_s / 2)
        self._clock = clock
        self._rng = rng or random.Random()
        self._wanted: set[str] = set()
        self._subscribed: set[str] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._ws: Any = None
        self.state = StreamState.CONNECTING
        self.last_heard = 0.0  # monotonic
        self._data = False  # a book arrived on the current connection
        self.connects = 0

    # --- called from the trading thread ---------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        started = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(started,),
                                        name=f"stream-{self.account}", daemon=True)
        self._thread.start()
        started.wait(5.0)

    def want(self, instrument: str) -> None:
        """Subscribe ``instrument`` (now if connected, else on the next connection)."""
        with self._lock:
            if instrument in self._wanted:
                return
            self._wanted.add(instrument)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(self._subscribe_soon, instrument)

    def want_candles(self, instrument: str, timeframe_s: int) -> None:
        """Subscribe ``instrument``'s candle channel of ``timeframe_s`` (now if connected, else on
        the next connection); closed candles go to ``candles``."""
        with self._lock:
            if (instrument, timeframe_s) in self._candles_wanted:
                return
            self._candles_wanted.add((instrument, timeframe_s))
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._subscribe_candles_soon, instrument, timeframe_s)

    def is_live(self) -> bool:
        return (self.state is StreamState.LIVE
                and time.monotonic() - self.last_heard <= self.stale_after_s)

    def close(self, timeout: float = 5.0) -> None:
        """Stop now: a connect or handshake in progress is cancelled, not waited out."""
        loop, stop = self._loop, self._stop

        def shutdown() -> None:
            assert stop is not None
            stop.set()
            if self._task is not None:
                self._task.cancel()

        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = StreamState.CLOSED

    # --- the stream thread -------------------------------------------------------------------
    def _thread_main(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        self._task = loop.create_task(self._run())
        started.set()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            self.state = StreamState.CLOSED
            self._event(K.CLOSED)
            loop.close()

    def _event(self, kind: StreamEventKind, channel: str = "", instrument: str = "", detail: str = "") -> None:
        self.log.add(StreamEvent(self._clock(), self.account, kind, channel, instrument, detail))

    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        assert self._stop is not None
        attempt = -1  # consecutive failures - 1: the first reconnect waits about base_s
        while not self._stop.is_set():
            self.state = StreamState.CONNECTING
            heard, self._data, opened = False, False, time.monotonic()
            try:
                async with connect(self.protocol.url, additional_headers=dict(self.protocol.headers()),
                                   open_timeout=self.stale_after_s, ping_interval=None, close_timeout=1.0,
                                   max_size=2**24) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.last_heard = time.monotonic()
                    self.protocol.on_connect()
                    self._subscribed.clear()
                    self._candles_subscribed.clear()
                    self._on_fill()  # the REST fill cursor is the truth after every (re)connect
                    if self.candles is not None:
                        self.candles.reconnected()  # and REST candle history for what closed meanwhile
                    self.state = StreamState.LIVE
                    self._event(K.CONNECTED, detail=f"connection {self.connects}")
                    for msg in self.protocol.account_subscriptions():
                        await ws.send(json.dumps(msg))
                    with self._lock:
                        wanted = sorted(self._wanted)
                    for inst in wanted:
                        await self._subscribe(inst)
                    with self._lock:
                        candles = sorted(self._candles_wanted)
                    for inst, tf in candles:
                        await self._subscribe_candles(inst, tf)
                    beat = asyncio.create_task(self._heartbeat(ws))
                    stop = asyncio.create_task(self._stop.wait())
                    try:
                        reader = asyncio.create_task(self._read(ws))
                        done, _ = await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
                        if reader in done:
                            heard, detail = reader.result()
                        else:
                            reader.cancel()
                            detail = "stopped"
                    finally:
                        beat.cancel()
                        stop.cancel()
            except Exception as exc:  # refused, timed out, handshake or protocol errors: reconnect
                detail = f"{type(exc).__name__}: {exc}"
            self._ws = None
            self.cache.invalidate()
            if self.candles is not None:
                self.candles.disconnected()
            if self._stop.is_set():
                break
            self.state = StreamState.DOWN
            self._event(K.DISCONNECTED, detail=detail)
            # a connection that carried data, or lasted, starts the backoff over; one the venue
            # closes right after an ack or an error message must not reconnect in a tight loop
            lasted = heard and time.monotonic() - opened >= LASTED_S
            attempt = 0 if (self._data or lasted) else attempt + 1
            delay = self.backoff.delay(attempt, self._rng)
            self._event(K.RECONNECT, detail=f"in {delay:.3f}s (retry {attempt + 1})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _read(self, ws: Any) -> tuple[bool, str]:
        """Read until the socket ends; returns (whether anything was heard, why it ended)."""
        heard = False
        try:
            async for raw in ws:
                self.last_heard = time.monotonic()
                heard = True
                try:
                    msg = json.loads(raw)
                except ValueError:
                    self._event(K.ERROR, detail=f"undecodable message: {str(raw)[:80]}")
                    continue
                await self._dispatch(ws, msg)
        except Exception as exc:  # ConnectionClosedError: the venue or the watchdog dropped it
            return heard, f"{type(exc).__name__}: {exc}"
        return heard, "closed by the venue"

    async def _dispatch(self, ws: Any, msg: Any) -> None:
        for up in self.protocol.handle(msg):
            if isinstance(up, BookUpdate):
                self._data = True
                self.cache.put(up.book)
            elif isinstance(up, CandleUpdate):
                self._data = True
                if self.candles is not None:
                    self.candles.update(up.instrument, up.timeframe_s, up.candle, up.final)
            elif isinstance(up, Gap):
                await self._gap(ws, up)
            elif isinstance(up, FillSignal):
                self._on_fill()
            elif isinstance(up, Ack):
                self._event(K.SUBSCRIBED, up.channel, detail=up.detail)
            elif isinstance(up, VenueError):
                self._event(K.ERROR, detail=up.detail)

    async def _gap(self, ws: Any, gap: Gap) -> None:
        for inst in gap.instruments:
            self.cache.invalidate(inst)
            self._event(K.GAP, instrument=inst, detail=gap.detail)
            if self._resync is None:
                continue
            try:
                book = await asyncio.to_thread(self._resync, inst)
            except Exception as exc:  # budget spent or venue down: the REST fallback covers it
                self._event(K.ERROR, instrument=inst, detail=f"resync failed: {exc}")
            else:
                self.cache.put(book)
                self._event(K.RESYNC, instrument=inst, detail="rest snapshot")
        for msg in self.protocol.resubscribe(gap.instruments[0]):
            await ws.send(json.dumps(msg))

    def _subscribe_soon(self, instrument: str) -> None:
        if self._ws is not None and self.state is StreamState.LIVE:
            asyncio.ensure_future(self._subscribe(instrument))

    def _subscribe_candles_soon(self, instrument: str, timeframe_s: int) -> None:
        if self._ws is not None and self.state is StreamState.LIVE:
            asyncio.ensure_future(self._subscribe_candles(instrument, timeframe_s))

    async def _subscribe_candles(self, instrument: str, timeframe_s: int) -> None:
        if (instrument, timeframe_s) in self._candles_subscribed or self._ws is None:
            return
        self._candles_subscribed.add((instrument, timeframe_s))
        for msg in self.protocol.subscribe_candles(instrument, timeframe_s):
            await self._ws.send(json.dumps(msg))

    async def _subscribe(self, instrument: str) -> None:
        if instrument in self._subscribed or self._ws is None:
            return
        self._subscribed.add(instrument)
        for msg in self.protocol.subscribe(instrument):
            await self._ws.send(json.dumps(msg))

    async def _heartbeat(self, ws: Any) -> None:
        """Ping every heartbeat; drop the socket when nothing was heard for stale_after_s."""
        tick = min(self.heartbeat_s, self.stale_after_s / 4)
        last_ping = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            silent = now - self.last_heard
            if silent > self.stale_after_s:
                self.state = StreamState.DOWN
                self._event(K.STALE, detail=f"nothing heard for {silent:.1f}s (limit {self.stale_after_s:g}s)")
                ws.transport.abort()
                return
            if now - last_ping >= self.heartbeat_s:
                last_ping = now
                app_ping = self.protocol.ping()
                with contextlib.suppress(Exception):
                    if app_ping is not None:
                        await ws.send(json.dumps(app_ping))
                    else:
                        asyncio.ensure_future(self._frame_ping(ws))

    async def _frame_ping(self, ws: Any) -> None:
        with contextlib.suppress(Exception):
            waiter = await ws.ping()
            await asyncio.wait_for(waiter, self.stale_after_s)
            self.last_heard = time.monotonic()
