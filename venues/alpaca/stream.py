"""alpaca-py's market data streams: ``CryptoDataStream`` order books (``T: "o"``; ``r: true``
is a full snapshot, later messages set levels, size 0 removes one) and ``StockDataStream``
quotes (``T: "q"``, the NBBO as a one-level book), minute bars of both (``T: "b"``, sent once
the minute is over: each is a closed bar), msgpack over WebSocket; and the
``TradingStream``'s ``trade_updates`` (JSON), whose ``fill``/``partial_fill`` wake the REST
fill read (the account activities stay the truth).

alpaca-py keeps the socket, authenticates and reconnects itself (1 s doubling to 30 s); we
observe it by subclassing its two connection hooks (a connect is recorded and wakes the REST
fill read; a close is a disconnect), run our own staleness watchdog (silence past the limit
closes the socket, so alpaca-py reconnects), and put each book in the feed's cache. Alpaca's
books carry no sequence numbers: a reconnect or a reset snapshot is the resync. Instruments are
added to the SDK's handler table and subscribed on its loop, never from the trading thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from alpaca.data.live.crypto import CryptoDataStream
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.stream import TradingStream

from venues.base import BookSnapshot, Candle
from venues.streams.book import LevelBook
from venues.streams.events import StreamEvent, StreamEventKind, StreamState
from venues.streams.feed import StreamParts
from venues.streams.loop_thread import LoopThread

K = StreamEventKind


def _observed(base: type) -> type:
    """``base`` (an alpaca-py data stream) reporting its connects and closes to ``owner``."""

    class Observed(base):  # type: ignore[misc, valid-type]
        owner: AlpacaStream

        async def _start_ws(self) -> None:
            await super()._start_ws()
            self.owner._connected(self._name)

        async def close(self) -> None:
            was_open = self._ws is not None
            await super().close()
            if was_open:
                self.owner._closed(self._name)

    return Observed


ObservedCrypto = _observed(CryptoDataStream)
ObservedStocks = _observed(StockDataStream)
FILL_EVENTS = frozenset({"fill", "partial_fill"})
BARS = "\x00bars:"  # wanted items naming a minute-bar subscription (``<prefix><symbol>``), not a book
BAR_S = 60  # the streams' only bar timeframe


class AlpacaStream:
    stale_default_s = 30.0

    def __init__(self, parts: StreamParts, *, api_key: str, secret_key: str, is_equity: Callable[[str], bool],
                 ws_url: str | None = None, stock_feed: str = "iex", depth: int = 20,
                 trading: bool = True, paper: bool = True, trading_ws_url: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.parts = parts
        self._keys = (api_key, secret_key)
        self._is_equity = is_equity
        self._ws_url = ws_url.rstrip("/") if ws_url else None
        self._stock_feed = stock_feed
        self._trading = (paper, trading_ws_url) if trading else None
        self.depth = depth
        self._clock = clock
        self.stale_after_s = parts.stale_after_s or self.stale_default_s
        self.state = StreamState.CONNECTING
        self.connects = 0
        self.last_heard = 0.0
        self._io = LoopThread(f"stream-{parts.account}")  # the asyncio loop the SDK runs on
        self._books: dict[str, tuple[LevelBook, LevelBook]] = {}
        self._streams: dict[str, Any] = {}  # "crypto" | "stocks" -> observed SDK stream
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- the trading thread ------------------------------------------------------------------
    def start(self) -> None:
        self._io.start(self._run)

    def want(self, instrument: str) -> None:
        self._io.want(instrument, self._subscribe)

    def want_candles(self, instrument: str, timeframe_s: int) -> None:
        if timeframe_s == BAR_S:
            self._io.want(f"{BARS}{instrument}", self._subscribe)

    def is_live(self) -> bool:
        return self.state is StreamState.LIVE and time.monotonic() - self.last_heard <= self.stale_after_s

    def close(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._io.close(timeout)
        self.state = StreamState.CLOSED

    # --- the stream thread -------------------------------------------------------------------
    async def _run(self, ready: threading.Event) -> None:
        ready.set()
        wanted = self._io.wanted()
        for inst in wanted:
            self._subscribe(inst)
        if self._trading is not None:
            paper, url = self._trading
            trades = TradingStream(*self._keys, paper=paper, raw_data=True, url_override=url)
            trades._trade_updates_handler = self._on_trade_update  # subscribe_* would wait on this loop
            self._streams["trading"] = trades
            self._tasks.append(asyncio.ensure_future(trades._run_forever()))
        watchdog = asyncio.ensure_future(self._watchdog())
        await self._io.stop.wait()  # type: ignore[union-attr]
        watchdog.cancel()
        for stream in self._streams.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stream.stop_ws(), 2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stream.close(), 2.0)
        self._event(K.CLOSED)

    def _event(self, kind: StreamEventKind, instrument: str = "", detail: str = "") -> None:
        self.parts.log.add(StreamEvent(self._clock(), self.parts.account, kind, "", instrument, detail))

    def _stream(self, kind: str) -> Any:
        stream = self._streams.get(kind)
        if stream is None:
            params = {"ping_interval": max(1.0, self.stale_after_s / 3), "ping_timeout": self.stale_after_s,
                      "max_queue": 1024}
            if kind == "crypto":
                url = f"{self._ws_url}/v1beta3/crypto/us" if self._ws_url else None
                stream = ObservedCrypto(*self._keys, raw_data=True, url_override=url, websocket_params=params)
            else:
                url = f"{self._ws_url}/v2/{self._stock_feed}" if self._ws_url else None
                stream = ObservedStocks(*self._keys, raw_data=True, url_override=url, websocket_params=params)
            stream.owner = self
            self._streams[kind] = stream
            self._tasks.append(asyncio.ensure_future(stream._run_forever()))
        return stream

    def _subscribe(self, instrument: str) -> None:
        """Add ``instrument`` to the SDK stream's handlers (private table: alpaca-py's own
        ``subscribe_*`` would block this loop waiting on itself) and subscribe if connected."""
        bars = instrument.startswith(BARS)
        if bars:
            instrument = instrument[len(BARS):]
        if self._is_equity(instrument):
            stream, channel, handler = self._stream("stocks"), "quotes", self._on_quote
        else:
            stream, channel, handler = self._stream("crypto"), "orderbooks", self._on_orderbook
        if bars:
            channel, handler = "bars", self._on_bar
        stream._handlers[channel][instrument] = handler
        if stream._running and stream._ws is not None:
            asyncio.ensure_future(stream._send_subscribe_msg())

    # --- SDK callbacks (on this loop) ---------------------------------------------------------
    def _connected(self, name: str) -> None:
        self.last_heard = time.monotonic()
        self.parts.wake_fills()  # before LIVE: whoever sees the stream live finds the read due
        self.parts.candles.reconnected()  # and REST history for the bars that closed meanwhile
        self.state = StreamState.LIVE
        self.connects += 1
        self._event(K.CONNECTED, detail=f"{name} connection {self.connects}")

    def _closed(self, name: str) -> None:
        if self._stopping:
            return
        self.state = StreamState.DOWN
        self._books.clear()
        self.parts.cache.invalidate()
        self.parts.candles.disconnected()
        self._event(K.DISCONNECTED, detail=f"{name} socket closed; alpaca-py reconnects")

    async def _on_orderbook(self, msg: dict[str, Any]) -> None:
        sym = str(msg["S"])
        self.last_heard = time.monotonic()
        if msg.get("r") or sym not in self._books:
            if not msg.get("r"):
                return  # an update before any snapshot: wait for the venue's reset
            self._books[sym] = (LevelBook(), LevelBook())
        bids, asks = self._books[sym]
        for lv in msg.get("b") or []:
            bids.set(float(lv["p"]), float(lv["s"]))
        for lv in msg.get("a") or []:
            asks.set(float(lv["p"]), float(lv["s"]))
        self.parts.cache.put(BookSnapshot(sym, _ts(msg.get("t"), self._clock), bids.best_first()[: self.depth],
                                          asks.best_first(descending=False)[: self.depth]))

    async def _on_quote(self, msg: dict[str, Any]) -> None:
        self.last_heard = time.monotonic()
        self.parts.cache.put(BookSnapshot(str(msg["S"]), _ts(msg.get("t"), self._clock),
                                          [(float(msg["bp"]), float(msg["bs"]))],
                                          [(float(msg["ap"]), float(msg["as"]))]))

    async def _on_bar(self, msg: dict[str, Any]) -> None:
        """A minute bar, ``t`` its open: Alpaca sends it once the minute closed, so it is final."""
        self.last_heard = time.monotonic()
        self.parts.candles.update(str(msg["S"]), BAR_S, Candle(
            _ts(msg.get("t"), self._clock), float(msg["o"]), float(msg["h"]), float(msg["l"]), float(msg["c"]),
            float(msg.get("v") or 0.0)), final=True)

    async def _on_trade_update(self, msg: dict[str, Any]) -> None:
        if (msg.get("data") or {}).get("event") in FILL_EVENTS:
            self.parts.wake_fills()

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.stale_after_s / 4)
            silent = time.monotonic() - self.last_heard
            if self.state is StreamState.LIVE and silent > self.stale_after_s:
                self.state = StreamState.DOWN
                self._books.clear()
                self.parts.cache.invalidate()
                self.parts.candles.disconnected()
                self._event(K.STALE, detail=f"nothing heard for {silent:.1f}s (limit {self.stale_after_s:g}s)")
                for name, stream in self._streams.items():
                    if name == "trading":
                        continue  # quiet when nothing trades; its own pings keep it honest
                    ws = stream._ws
                    if ws is not None:
                        with contextlib.suppress(Exception):
                            ws.transport.abort()  # alpaca-py's next recv fails and it reconnects


def _ts(t: Any, clock: Callable[[], float]) -> float:
    """A msgpack timestamp (raw mode keeps it as one) in epoch seconds, else now."""
    if hasattr(t, "to_unix"):
        return float(t.to_unix())
    return clock()
