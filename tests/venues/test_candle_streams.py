"""Bars from the venues' own candle channels, with the real clients in the loop: Hyperliquid's
``candle`` subscription (our protocol over ``websockets``), ccxt.pro's ``watch_ohlcv`` on OKX's
``candle1m`` channel, alpaca-py's crypto minute bars (``T: "b"``). The venue ends are local
WebSocket servers speaking the documented messages; REST history (the resync after a
reconnection) is each SDK over faked HTTP.

Each venue: one bar per closed candle and none for a candle still updating; a connection dropped
mid-candle loses no bar and doubles none; a timeframe the venue does not stream is None (the
runner builds those bars from books).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import responses

from tests.kit.wsserver import WsServer, eventually
from tests.venues import test_hyperliquid_fake as hlfake
from tests.venues.fixtures.alpaca.fake import DATA, FakeAlpaca, alpaca_account
from tests.venues.fixtures.okx.fake import BASE, FakeOkx, okx_account
from tests.venues.test_alpaca_stream import trading_reply
from tests.venues.test_hyperliquid_stream import hl_reply, streaming
from venues.alpaca.adapter import create as create_alpaca
from venues.base import VenueAdapter
from venues.ccxt.adapter import create as create_ccxt
from venues.streams.events import StreamEventKind as K

T0 = 1_700_000_040  # s, a minute boundary


class Bars:
    """What the runner's feed does with an adapter's ``closed_bars``: asks with the end of the
    last bar handed over, and keeps everything it was handed, in order."""

    def __init__(self, adapter: VenueAdapter, instrument: str, timeframe_s: int = 60) -> None:
        self.adapter, self.instrument, self.tf = adapter, instrument, timeframe_s
        self.after: float | None = None
        self.handed: list[tuple[float, float]] = []  # (open, close)

    def take(self, now: float) -> list[tuple[float, float]]:
        got = self.adapter.closed_bars(self.instrument, self.tf, now, self.after)
        assert got is not None, "the venue streams this timeframe"
        if got:
            self.after = got[-1].ts + self.tf
        out = [(c.ts, c.close) for c in got]
        self.handed += out
        return out

    def until(self, n: int, now: float, timeout: float = 10.0) -> list[tuple[float, float]]:
        """Take until ``n`` bars were handed in all (the stream thread delivers in its own time)."""
        eventually(lambda: self.take(now) is not None and len(self.handed) >= n, timeout, f"{n} bars")
        return self.handed


def resyncs(adapter: VenueAdapter) -> list[str]:
    return [e.detail for e in adapter.feed.log.peek() if e.kind is K.RESYNC and e.channel == "candle"]  # type: ignore[union-attr]


# --- Hyperliquid ---------------------------------------------------------------------------
def hl_candle(i: int, close: float) -> dict[str, Any]:
    """The ``candle`` channel's message: the candle of minute ``i`` as it stands."""
    t = (T0 + 60 * i) * 1000
    return {"channel": "candle", "data": {"t": t, "T": t + 59_999, "s": "ETH", "i": "1m", "o": "1890.0",
                                          "c": str(close), "h": str(max(1890.0, close)),
                                          "l": str(min(1890.0, close)), "v": "3.5", "n": 12}}


def hl_rest(i: int, close: float) -> dict[str, Any]:
    return hl_candle(i, close)["data"]  # candleSnapshot's elements have the same shape


@pytest.fixture
def hl() -> Iterator[hlfake.FakeHyperliquid]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield hlfake.FakeHyperliquid(rsps)


@pytest.fixture
def hl_venue() -> Iterator[WsServer]:
    with WsServer(hl_reply) as server:
        yield server


def candle_subs(venue: WsServer) -> list[dict[str, Any]]:
    return venue.sent(lambda m: (m.get("subscription") or {}).get("type") == "candle")


class TestHyperliquid:
    def test_one_bar_per_closed_candle_and_none_while_it_updates(
            self, hl: hlfake.FakeHyperliquid, hl_venue: WsServer) -> None:
        v = streaming(hl_venue)
        try:
            assert 60 in v.native_timeframes() and 3600 in v.native_timeframes()
            bars = Bars(v, "ETH")
            assert bars.take(T0) == []  # starts the stream and subscribes the candle channel
            sub = eventually(lambda: candle_subs(hl_venue), what="the candle subscription")[0]
            assert sub["subscription"] == {"type": "candle", "coin": "ETH", "interval": "1m"}
            for px in (1890.5, 1891.0, 1890.8):  # minute 0 updating in place
                hl_venue.send(hl_candle(0, px))
            hl_venue.send(hl_candle(0, 1890.9))
            eventually(lambda: getattr(v.feed.candles.pending("ETH", 60), "close", None) == 1890.9,  # type: ignore[union-attr]
                       what="the updates")
            assert bars.take(T0 + 30) == []
            hl_venue.send(hl_candle(1, 1892.0))  # minute 1 began: minute 0 is over
            assert bars.until(1, T0 + 61) == [(T0, 1890.9)]
            hl_venue.send(hl_candle(1, 1893.0))
            hl_venue.send(hl_candle(2, 1894.0))
            assert bars.until(2, T0 + 121) == [(T0, 1890.9), (T0 + 60, 1893.0)]
            assert bars.take(T0 + 130) == []
        finally:
            v.close()

    def test_a_connection_dropped_mid_candle_loses_no_bar_and_doubles_none(
            self, hl: hlfake.FakeHyperliquid, hl_venue: WsServer) -> None:
        hl.info["candleSnapshot"] = []
        v = streaming(hl_venue)
        try:
            bars = Bars(v, "ETH")
            bars.take(T0)
            eventually(lambda: candle_subs(hl_venue), what="the candle subscription")
            hl_venue.send(hl_candle(0, 1890.5))
            hl_venue.send(hl_candle(1, 1891.0))  # minute 1 in progress when the line drops
            assert bars.until(1, T0 + 61) == [(T0, 1890.5)]
            hl_venue.drop()
            eventually(lambda: hl_venue.connections == 2 and len(candle_subs(hl_venue)) == 2,
                       what="the reconnect and resubscription")
            # meanwhile minute 1 ended at 1891.4 and minute 2 came and went: REST history has both
            hl.info["candleSnapshot"] = [hl_rest(0, 1890.5), hl_rest(1, 1891.4), hl_rest(2, 1892.2)]
            hl_venue.send(hl_candle(3, 1893.0))  # the new connection's first word: minute 3 in progress
            assert bars.until(3, T0 + 185) == [(T0, 1890.5), (T0 + 60, 1891.4), (T0 + 120, 1892.2)]
            hl_venue.send(hl_candle(4, 1894.0))
            assert bars.until(4, T0 + 241)[3:] == [(T0 + 180, 1893.0)]
            assert len({o for o, _ in bars.handed}) == len(bars.handed)  # none twice
            assert resyncs(v) and "2 bars from REST history" in resyncs(v)[-1]
        finally:
            v.close()

    def test_a_timeframe_without_a_candle_channel_is_left_to_the_bar_builder(
            self, hl: hlfake.FakeHyperliquid, hl_venue: WsServer) -> None:
        v = streaming(hl_venue)
        try:
            assert v.closed_bars("ETH", 5, T0, None) is None  # 5 s: no such candle interval
            assert v.closed_bars("ETH", 120, T0, None) is None  # 2m: none either
            assert not candle_subs(hl_venue)
            plain = hlfake.make_adapter()  # an account without a stream: every bar is built
            assert plain.native_timeframes() == frozenset() and plain.closed_bars("ETH", 60, T0, None) is None
        finally:
            v.close()


# --- ccxt.pro on OKX -------------------------------------------------------------------------
def okx_reply(msg: dict[str, Any]) -> list[dict[str, Any]]:
    if msg.get("op") == "login":
        return [{"event": "login", "code": "0", "msg": "", "connId": "a4d3ae55"}]
    if msg.get("op") != "subscribe":
        return []
    return [{"event": "subscribe", "arg": arg, "connId": "a4d3ae55"} for arg in msg["args"]]


def okx_candle(i: int, close: float, confirm: str = "0") -> dict[str, Any]:
    """The ``candle1m`` push: ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm."""
    ts = str((T0 + 60 * i) * 1000)
    return {"arg": {"channel": "candle1m", "instId": "BTC-USDT"},
            "data": [[ts, "37000.0", str(max(37000.0, close)), str(min(37000.0, close)), str(close), "1.5", "55500",
                      "55500", confirm]]}


@pytest.fixture
def okx(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, FakeOkx, WsServer, list[list[str]]]]:
    rest: list[list[str]] = []  # OKX's REST candles, newest first

    def candles(request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps({"code": "0", "msg": "", "data": rest})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeOkx(rsps)
        rsps.add_callback(responses.GET, re.compile(re.escape(BASE + "/api/v5/market/") + r"(history-)?candles.*"),
                          callback=candles)
        with WsServer(okx_reply, path="/ws/v5") as venue:
            adapter = create_ccxt(okx_account(monkeypatch, ws_url=venue.url, stream_stale_s=5.0))
            adapter.connect()
            try:
                yield adapter, fake, venue, rest
            finally:
                adapter.close()


def okx_subs(venue: WsServer) -> list[dict[str, Any]]:
    return venue.sent(lambda m: m.get("op") == "subscribe" and m["args"][0]["channel"] == "candle1m")


class TestCcxtWatchOhlcv:
    def test_one_bar_per_closed_candle_and_none_while_it_updates(self, okx: tuple) -> None:
        adapter, _, venue, _ = okx
        assert {60, 300, 3600, 86400} <= adapter.native_timeframes()
        bars = Bars(adapter, "BTC/USDT")
        assert bars.take(T0) == []
        eventually(lambda: okx_subs(venue), what="watch_ohlcv's subscription")
        assert any("/business" in p for p in venue.paths)  # OKX serves candles on its business socket
        for px in (37001.0, 37003.5, 37002.0):
            venue.send(okx_candle(0, px), "business")
        eventually(lambda: getattr(adapter.feed.candles.pending("BTC/USDT", 60), "close", None) == 37002.0,
                   what="the updates")  # ccxt may fold updates of one candle into one answer
        assert bars.take(T0 + 30) == []
        venue.send(okx_candle(1, 37004.0), "business")
        assert bars.until(1, T0 + 61) == [(T0, 37002.0)]
        venue.send(okx_candle(2, 37005.0), "business")
        assert bars.until(2, T0 + 121) == [(T0, 37002.0), (T0 + 60, 37004.0)]

    def test_a_connection_dropped_mid_candle_loses_no_bar_and_doubles_none(self, okx: tuple) -> None:
        adapter, _, venue, rest = okx
        bars = Bars(adapter, "BTC/USDT")
        bars.take(T0)
        eventually(lambda: okx_subs(venue), what="watch_ohlcv's subscription")
        venue.send(okx_candle(0, 37001.0), "business")
        venue.send(okx_candle(1, 37002.0), "business")
        assert bars.until(1, T0 + 61) == [(T0, 37001.0)]
        venue.drop()
        eventually(lambda: sum("/business" in p for p in venue.paths) >= 2 and len(okx_subs(venue)) >= 2, timeout=20,
                   what="ccxt.pro's reconnect and resubscription")
        rest[:] = [okx_candle(i, px, "1")["data"][0] for i, px in ((2, 37006.0), (1, 37003.0), (0, 37001.0))]
        venue.send(okx_candle(3, 37007.0), "business")
        assert bars.until(3, T0 + 185, timeout=20) == [(T0, 37001.0), (T0 + 60, 37003.0), (T0 + 120, 37006.0)]
        venue.send(okx_candle(4, 37008.0), "business")
        assert bars.until(4, T0 + 241)[3:] == [(T0 + 180, 37007.0)]
        assert len({o for o, _ in bars.handed}) == len(bars.handed)
        assert resyncs(adapter)

    def test_a_timeframe_the_exchange_does_not_stream_is_left_to_the_bar_builder(self, okx: tuple) -> None:
        adapter, _, venue, _ = okx
        assert adapter.closed_bars("BTC/USDT", 5, T0, None) is None
        assert adapter.closed_bars("BTC/USDT", 120, T0, None) is None


# --- alpaca-py's crypto data stream ----------------------------------------------------------
def alpaca_reply(msg: dict[str, Any]) -> list[Any]:
    if msg.get("action") == "auth":
        return [[{"T": "success", "msg": "authenticated"}]]
    if msg.get("action") != "subscribe":
        return []
    return [[{"T": "subscription", "trades": [], "quotes": [], "orderbooks": msg.get("orderbooks") or [],
              "bars": msg.get("bars") or []}]]


def alpaca_bar(i: int, close: float) -> list[dict[str, Any]]:
    """A minute bar, sent once the minute is over; ``t`` its open."""
    return [{"T": "b", "S": "BTC/USD", "o": 63500.0, "h": max(63500.0, close), "l": min(63500.0, close), "c": close,
             "v": 0.25, "t": msgpack.Timestamp.from_unix(T0 + 60 * i), "n": 7, "vw": 63501.0}]


def alpaca_rest(i: int, close: float) -> dict[str, Any]:
    from datetime import UTC, datetime

    t = datetime.fromtimestamp(T0 + 60 * i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"t": t, "o": 63500.0, "h": max(63500.0, close), "l": min(63500.0, close), "c": close, "v": 0.25, "n": 7,
            "vw": 63501.0}


@pytest.fixture
def alpaca(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, WsServer, list[dict[str, Any]]]]:
    rest: list[dict[str, Any]] = []

    def bars(request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps({"bars": {"BTC/USD": rest}, "next_page_token": None})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeAlpaca(rsps)
        rsps.add_callback(responses.GET, re.compile(re.escape(DATA + "/v1beta3/crypto/us/bars") + r".*"),
                          callback=bars)
        with WsServer(alpaca_reply, path="", codec="msgpack", greet=[[{"T": "success", "msg": "connected"}]]) as venue, \
                WsServer(trading_reply, path="/stream") as trading:
            adapter = create_alpaca(alpaca_account(monkeypatch, ws_url=f"ws://127.0.0.1:{venue.port}",
                                                   stream_stale_s=5.0, trading_ws_url=trading.url))
            adapter.connect()
            try:
                yield adapter, venue, rest
            finally:
                adapter.close()


def alpaca_subs(venue: WsServer) -> list[dict[str, Any]]:
    return venue.sent(lambda m: m.get("action") == "subscribe" and "BTC/USD" in (m.get("bars") or []))


class TestAlpacaMinuteBars:
    def test_each_minute_bar_is_handed_once_as_it_comes(self, alpaca: tuple) -> None:
        adapter, venue, _ = alpaca
        assert adapter.native_timeframes() == frozenset({60})
        bars = Bars(adapter, "BTC/USD")
        assert bars.take(T0) == []
        eventually(lambda: alpaca_subs(venue), what="the bars subscription")
        venue.send(alpaca_bar(0, 63510.0))  # sent after minute 0 closed: final
        assert bars.until(1, T0 + 60.5) == [(T0, 63510.0)]
        venue.send(alpaca_bar(0, 63510.0))  # a repeat is not a second bar
        venue.send(alpaca_bar(1, 63520.0))
        assert bars.until(2, T0 + 120.5) == [(T0, 63510.0), (T0 + 60, 63520.0)]
        assert bars.take(T0 + 125) == []

    def test_a_dropped_connection_loses_no_bar_and_doubles_none(self, alpaca: tuple) -> None:
        adapter, venue, rest = alpaca
        bars = Bars(adapter, "BTC/USD")
        bars.take(T0)
        eventually(lambda: alpaca_subs(venue), what="the bars subscription")
        venue.send(alpaca_bar(0, 63510.0))
        assert bars.until(1, T0 + 60.5) == [(T0, 63510.0)]
        venue.drop()  # minutes 1 and 2 close while alpaca-py reconnects
        rest[:] = [alpaca_rest(0, 63510.0), alpaca_rest(1, 63530.0), alpaca_rest(2, 63540.0)]
        eventually(lambda: venue.connections >= 2 and len(alpaca_subs(venue)) >= 2, timeout=20,
                   what="alpaca-py's reconnect")
        venue.send(alpaca_bar(3, 63550.0))
        assert bars.until(4, T0 + 240.5, timeout=20) == [
            (T0, 63510.0), (T0 + 60, 63530.0), (T0 + 120, 63540.0), (T0 + 180, 63550.0)]
        assert resyncs(adapter)

    def test_only_one_minute_bars_come_native(self, alpaca: tuple) -> None:
        adapter, venue, _ = alpaca
        assert adapter.closed_bars("BTC/USD", 300, T0, None) is None
        assert adapter.closed_bars("BTC/USD", 5, T0, None) is None
