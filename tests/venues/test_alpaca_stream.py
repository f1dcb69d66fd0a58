"""alpaca-py's data streams against a local stand-in speaking Alpaca's msgpack protocol: the
``connected`` greeting, ``auth``, ``subscribe`` acked by a ``subscription`` message, crypto
order books (``T: "o"``, ``r: true`` a full snapshot, later levels set or removed with size 0)
and stock quotes (``T: "q"``). The real ``CryptoDataStream``/``StockDataStream`` run inside the
adapter's stream; REST is alpaca-py over the faked HTTP of ``fixtures/alpaca``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import responses

from runner.errors import StaleDataError
from tests.kit.wsserver import WsServer, eventually, streamed
from tests.venues.fixtures.alpaca.fake import FakeAlpaca, alpaca_account
from venues.alpaca.adapter import AlpacaAdapter, create
from venues.streams.events import StreamEventKind as K

TS = msgpack.Timestamp.from_unix(1714999801.5)


def alpaca_reply(msg: dict[str, Any]) -> list[Any]:
    if msg.get("action") == "auth":
        return [[{"T": "success", "msg": "authenticated"}]]
    if msg.get("action") != "subscribe":
        return []
    books, quotes = msg.get("orderbooks") or [], msg.get("quotes") or []
    out: list[Any] = [[{"T": "subscription", "trades": [], "quotes": quotes, "orderbooks": books, "bars": []}]]
    out += [[{"T": "o", "S": s, "t": TS, "r": True,
              "b": [{"p": 63500.0, "s": 0.5}, {"p": 63490.0, "s": 1.2}],
              "a": [{"p": 63510.0, "s": 0.3}, {"p": 63520.0, "s": 0.8}]}] for s in books]
    out += [[{"T": "q", "S": s, "t": TS, "bp": 189.1, "bs": 3, "ap": 189.12, "as": 5, "c": ["R"], "z": "C"}]
            for s in quotes]
    return out


def trading_reply(msg: dict[str, Any]) -> list[Any]:
    if msg.get("action") == "authenticate":
        return [{"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}}]
    if msg.get("action") == "listen":
        return [{"stream": "listening", "data": {"streams": ["trade_updates"]}}]
    return []


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAlpaca(rsps)


@pytest.fixture
def venue() -> Iterator[WsServer]:
    with WsServer(alpaca_reply, path="", codec="msgpack",
                  greet=[[{"T": "success", "msg": "connected"}]]) as server:
        yield server


@pytest.fixture
def trading() -> Iterator[WsServer]:
    with WsServer(trading_reply, path="/stream") as server:
        yield server


@pytest.fixture
def alpaca(fake: FakeAlpaca, venue: WsServer, trading: WsServer,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaAdapter]:
    adapter = create(alpaca_account(monkeypatch, ws_url=f"ws://127.0.0.1:{venue.port}", stream_stale_s=1.0,
                                    trading_ws_url=trading.url))
    adapter.connect()
    try:
        yield adapter
    finally:
        adapter.close()


def kinds(a: AlpacaAdapter) -> list[K]:
    return [e.kind for e in a.feed.log.peek()]  # type: ignore[union-attr]


def test_crypto_books_are_the_snapshot_plus_level_updates_without_requests(
        alpaca: AlpacaAdapter, fake: FakeAlpaca, venue: WsServer) -> None:
    alpaca.book("BTC/USD")
    assert fake.count("/latest/orderbooks") == 1
    streamed(alpaca, "BTC/USD", lambda b: b.bids[0] == (63500.0, 0.5))
    auth = venue.sent(lambda m: m.get("action") == "auth")[0]
    assert auth["key"] == "PKTEST" and venue.paths[0] == "/v1beta3/crypto/us"
    venue.send([{"T": "o", "S": "BTC/USD", "t": TS, "b": [{"p": 63500.0, "s": 0}, {"p": 63495.0, "s": 2.0}],
                 "a": [{"p": 63505.0, "s": 0.1}]}])
    streamed(alpaca, "BTC/USD", lambda b: b.bids[0] == (63495.0, 2.0))
    book = alpaca.book("BTC/USD", depth=2)
    assert book.bids == [(63495.0, 2.0), (63490.0, 1.2)] and book.asks == [(63505.0, 0.1), (63510.0, 0.3)]
    assert book.ts == 1714999801.5 and fake.count("/latest/orderbooks") == 1
    assert K.CONNECTED in kinds(alpaca)


def test_equities_stream_the_nbbo_quote(alpaca: AlpacaAdapter, fake: FakeAlpaca, venue: WsServer) -> None:
    alpaca.book("AAPL")
    streamed(alpaca, "AAPL", lambda b: b.bids[0] == (189.1, 3.0))
    assert alpaca.book("AAPL").asks == [(189.12, 5.0)]
    assert "/v2/iex" in venue.paths


def test_a_drop_falls_back_to_rest_and_alpaca_py_reconnects_and_resubscribes(
        alpaca: AlpacaAdapter, fake: FakeAlpaca, venue: WsServer) -> None:
    alpaca.book("BTC/USD")
    streamed(alpaca, "BTC/USD", lambda b: b.bids[0] == (63500.0, 0.5))
    venue.drop()
    eventually(lambda: K.DISCONNECTED in kinds(alpaca) or K.STALE in kinds(alpaca), what="the drop")
    reads = fake.count("/latest/orderbooks")
    if not alpaca.feed.connection.is_live():  # type: ignore[union-attr]
        assert alpaca.book("BTC/USD").bids[0] == (63495.1, 0.5412)  # REST meanwhile
        assert fake.count("/latest/orderbooks") == reads + 1
    eventually(lambda: len(venue.sent(lambda m: m.get("action") == "subscribe")) >= 2, timeout=20,
               what="alpaca-py's reconnect")
    streamed(alpaca, "BTC/USD", lambda b: b.bids[0] == (63500.0, 0.5), timeout=20)


def test_a_silent_stream_is_stale(alpaca: AlpacaAdapter, fake: FakeAlpaca, venue: WsServer) -> None:
    alpaca.book("BTC/USD")
    streamed(alpaca, "BTC/USD", lambda b: b.bids[0] == (63500.0, 0.5))
    venue.hang()
    eventually(lambda: K.STALE in kinds(alpaca), what="the stale verdict")
    assert alpaca.book("BTC/USD").bids[0] == (63495.1, 0.5412)  # REST, not the old streamed book


def test_a_429_storm_on_the_rest_fallback_is_stale_data_and_not_hammered(
        alpaca: AlpacaAdapter, fake: FakeAlpaca, venue: WsServer) -> None:
    venue.hang()  # connected but silent: no book ever streams
    for _ in range(5):
        fake.fault("/latest/orderbooks", "429")
    with pytest.raises(StaleDataError) as info:
        alpaca.book("BTC/USD")
    assert info.value.retry_after == 3.0
    for _ in range(3):
        with pytest.raises(StaleDataError):
            alpaca.book("BTC/USD")
    assert fake.count("/latest/orderbooks") == 1
    venue.hang(False)


def test_trade_updates_wake_the_rest_fill_read(fake: FakeAlpaca, venue: WsServer, trading: WsServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a = create(alpaca_account(monkeypatch, ws_url=f"ws://127.0.0.1:{venue.port}", trading_ws_url=trading.url,
                              fill_poll_s=3600))
    a.feed.fill_follow_s = 0.0  # type: ignore[union-attr]  # follow-up reads: test_stream_connection
    a.connect()
    try:
        a.book("BTC/USD")
        streamed(a, "BTC/USD", lambda b: b.bids[0] == (63500.0, 0.5))
        eventually(lambda: trading.sent(lambda m: m.get("action") == "listen"), what="trade_updates")
        a.fills("0")  # woken by the connect
        reads = fake.count("/account/activities/FILL")
        a.fills("0")
        assert fake.count("/account/activities/FILL") == reads  # nothing signalled: no request
        trading.send({"stream": "trade_updates", "data": {"event": "new", "order": {"id": "x"}}})
        trading.send({"stream": "trade_updates", "data": {"event": "fill", "price": "63500", "qty": "0.01",
                                                         "order": {"id": "904837e3", "client_order_id": "c1"}}})
        eventually(lambda: a.feed._woken.is_set(), what="the fill signal")  # type: ignore[union-attr]
        a.fills("0")
        assert fake.count("/account/activities/FILL") == reads + 1
    finally:
        a.close()
