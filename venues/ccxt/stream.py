"""ccxt.pro (inside the ccxt package): ``watch_order_book`` per instrument, ``watch_ohlcv`` per
instrument and native bar timeframe, ``watch_my_trades`` for the account, on an asyncio loop in
a daemon thread. ``watch_ohlcv`` hands the candles updated since the last call (OKX's
``candle1m`` channel: the candle in progress, updated in place); the candle closer
(``streams.candles``) decides when one is over, and reads REST history after every reconnect.

ccxt.pro keeps the socket and the incremental book itself; it raises ``InvalidNonce`` (or
``ChecksumError``) when a venue's sequence breaks (OKX: ``prevSeqId`` not the last
``seqId``) and drops its subscription, so the next watch resubscribes and starts from a fresh
snapshot. We record that as a gap, put a REST snapshot in the book's place meanwhile, and turn
network errors into a reconnect with backoff and jitter. Silence past the stale limit (no
book update and no pong) closes the pro client so every watch reconnects. The pro client
never calls REST: it gets the markets the adapter's REST client loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import ccxt

from venues.base import BookSnapshot, Candle
from venues.candles import timeframe_label
from venues.streams.events import StreamEvent, StreamEventKind, StreamState
from venues.streams.feed import StreamParts
from venues.streams.loop_thread import LoopThread

K = StreamEventKind
SEQUENCE_ERRORS = (ccxt.InvalidNonce, ccxt.ChecksumError)
CANDLES = "\x00candles:"  # wanted items naming a candle watch (``<prefix><seconds>:<symbol>``), not a book


class CcxtStream:
    stale_default_s = 30.0

    def __init__(self, parts: StreamParts, make_exchange: Callable[[], Any], *, depth: int = 20,
                 my_trades: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.parts = parts
        self._make_exchange = make_exchange
        self.depth = depth
        self._my_trades = my_trades
        self._clock = clock
        self._rng = random.Random()
        self.stale_after_s = parts.stale_after_s or self.stale_default_s
        self.state = StreamState.CONNECTING
        self.connects = 0
        self.last_heard = 0.0
        self._io = LoopThread(f"stream-{parts.account}")  # the asyncio loop the SDK runs on
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ex: Any = None

    # --- the trading thread ------------------------------------------------------------------
    def start(self) -> None:
        self._io.start(self._run)

    def want(self, instrument: str) -> None:
        self._io.want(instrument, self._watch)

    def want_candles(self, instrument: str, timeframe_s: int) -> None:
        self._io.want(f"{CANDLES}{timeframe_s}:{instrument}", self._watch)

    def is_live(self) -> bool:
        return self.state is StreamState.LIVE and time.monotonic() - self.last_heard <= self.stale_after_s

    def close(self, timeout: float = 5.0) -> None:
        self._io.close(timeout)
        self.state = StreamState.CLOSED

    # --- the stream thread -------------------------------------------------------------------
    async def _run(self, ready: threading.Event) -> None:
        ready.set()  # the trading thread goes on; building ccxt.pro (a slow import) happens here
        try:
            self._ex = self._make_exchange()
        except Exception as exc:  # no ccxt.pro twin of this exchange, say: REST serves, said once
            self.state = StreamState.CLOSED
            self._event(K.ERROR, detail=f"no stream: {type(exc).__name__}: {exc}")
            return
        wanted = self._io.wanted()
        for inst in wanted:
            self._watch(inst)
        extra = [asyncio.ensure_future(self._watchdog())]
        if self._my_trades:
            extra.append(asyncio.ensure_future(self._watch_fills()))
        await self._io.stop.wait()  # type: ignore[union-attr]
        for task in [*self._tasks.values(), *extra]:
            task.cancel()
        self._abort_sockets()  # a hung venue must not hold the stop in a close handshake
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ex.close(), 2.0)
        self.state = StreamState.CLOSED
        self._event(K.CLOSED)

    def _event(self, kind: StreamEventKind, instrument: str = "", detail: str = "") -> None:
        self.parts.log.add(StreamEvent(self._clock(), self.parts.account, kind, "", instrument, detail))

    def _watch(self, item: str) -> None:
        if self._ex is None or item in self._tasks:
            return
        if item.startswith(CANDLES):
            tf, _, instrument = item[len(CANDLES):].partition(":")
            self._tasks[item] = asyncio.ensure_future(self._watch_candles(instrument, int(tf)))
        else:
            self._tasks[item] = asyncio.ensure_future(self._watch_book(item))

    def _heard(self) -> None:
        self.last_heard = time.monotonic()
        if self.state is not StreamState.LIVE:
            self.parts.wake_fills()  # the REST fill cursor is the truth after every (re)connect
            self.parts.candles.reconnected()  # and REST candle history for what closed meanwhile
            self.state = StreamState.LIVE
            self.connects += 1
            self._event(K.CONNECTED, detail=f"connection {self.connects}")

    async def _watch_book(self, instrument: str) -> None:
        attempt = 0
        while True:
            try:
                ob = await self._ex.watch_order_book(instrument, self.depth)
            except asyncio.CancelledError:
                raise
            except SEQUENCE_ERRORS as exc:
                await self._gap(instrument, f"{type(exc).__name__}: {exc}")
                continue
            except Exception as exc:  # NetworkError and the rest: the socket is gone
                attempt = await self._down(f"{type(exc).__name__}: {exc}", attempt)
                continue
            attempt = 0
            self._heard()
            ts = ob.get("timestamp")
            self.parts.cache.put(BookSnapshot(
                instrument, ts / 1000.0 if ts else self._clock(),
                [(float(p), float(s)) for p, s, *_ in ob["bids"][: self.depth]],
                [(float(p), float(s)) for p, s, *_ in ob["asks"][: self.depth]],
            ))

    async def _watch_candles(self, instrument: str, timeframe_s: int) -> None:
        label = timeframe_label(timeframe_s)
        attempt = 0
        while True:
            try:
                rows = await self._ex.watch_ohlcv(instrument, label)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NetworkError and the rest: the socket is gone
                attempt = await self._down(f"candles: {type(exc).__name__}: {exc}", attempt)
                continue
            attempt = 0
            self._heard()
            for ts, o, h, low, c, v, *_ in rows:
                self.parts.candles.update(instrument, timeframe_s, Candle(
                    ts / 1000.0, float(o), float(h), float(low), float(c), float(v or 0.0)))

    async def _watch_fills(self) -> None:
        attempt = 0
        while True:
            try:
                await self._ex.watch_my_trades()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt = await self._down(f"my trades: {type(exc).__name__}: {exc}", attempt)
                continue
            attempt = 0
            self.parts.wake_fills()

    async def _gap(self, instrument: str, detail: str) -> None:
        self.parts.cache.invalidate(instrument)
        self._event(K.GAP, instrument, detail)
        if self.parts.resync is None:
            return
        try:
            book = await asyncio.to_thread(self.parts.resync, instrument)
        except Exception as exc:  # the REST fallback of book() covers it
            self._event(K.ERROR, instrument, f"resync failed: {exc}")
        else:
            self.parts.cache.put(book)
            self._event(K.RESYNC, instrument, "rest snapshot")

    async def _down(self, detail: str, attempt: int) -> int:
        if self.state is StreamState.LIVE:
            self.state = StreamState.DOWN
            self.parts.cache.invalidate()
            self.parts.candles.disconnected()
            self._event(K.DISCONNECTED, detail=detail)
        delay = self.parts.backoff.delay(attempt, self._rng)
        self._event(K.RECONNECT, detail=f"in {delay:.3f}s (attempt {attempt + 1})")
        await asyncio.sleep(delay)
        return attempt + 1

    async def _watchdog(self) -> None:
        tick = self.stale_after_s / 4
        while True:
            await asyncio.sleep(tick)
            if self.state is not StreamState.LIVE:
                continue
            pong = max((getattr(c, "lastPong", None) or 0 for c in self._ex.clients.values()), default=0)
            if pong:  # ccxt's keepalive: a pong is life even when the book is quiet
                self.last_heard = max(self.last_heard, time.monotonic() - (self._ex.milliseconds() - pong) / 1000)
            silent = time.monotonic() - self.last_heard
            if silent > self.stale_after_s:
                self.state = StreamState.DOWN
                self.parts.cache.invalidate()
                self.parts.candles.disconnected()
                self._event(K.STALE, detail=f"nothing heard for {silent:.1f}s (limit {self.stale_after_s:g}s)")
                self._abort_sockets()
                for client in list(self._ex.clients.values()):
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(client.close(), 2.0)

    def _abort_sockets(self) -> None:
        """Drop every socket of the pro client without a close handshake (the venue may be hung):
        aiohttp's WebSocket response has no public abort, so close its HTTP response."""
        for client in list(self._ex.clients.values()):
            response = getattr(getattr(client, "connection", None), "_response", None)
            if response is not None:
                with contextlib.suppress(Exception):
                    response.close()
