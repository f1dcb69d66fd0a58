"""ccxt.pro against a local stand-in of OKX's public and private WebSocket: ``books``
snapshots and updates chained by ``seqId``/``prevSeqId``, the login and ``orders`` channel of
``watch_my_trades``, the ``ping``/``pong`` keepalive. The real ccxt.pro client runs inside
the adapter's stream; REST is ccxt over the faked HTTP of ``fixtures/okx``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from runner.errors import StaleDataError
from tests.kit.wsserver import WsServer, eventually, streamed
from tests.venues.fixtures.okx.fake import FakeOkx, okx_account
from venues.ccxt.adapter import CcxtAdapter, create
from venues.streams.events import StreamEventKind as K


class OkxVenue:
    def __init__(self) -> None:
        self.seq = 100

    def __call__(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if msg.get("op") == "login":
            return [{"event": "login", "code": "0", "msg": "", "connId": "a4d3ae55"}]
        if msg.get("op") == "unsubscribe":
            return [{"event": "unsubscribe", "arg": arg, "connId": "a4d3ae55"} for arg in msg["args"]]
        if msg.get("op") != "subscribe":
            return []
        out: list[dict[str, Any]] = []
        for arg in msg["args"]:
            out.append({"event": "subscribe", "arg": arg, "connId": "a4d3ae55"})
            if arg["channel"] == "books":
                self.seq = 100
                out.append({"arg": arg, "action": "snapshot", "data": [{
                    "asks": [["60000.2", "0.5", "0", "2"], ["60000.5", "1.0", "0", "3"]],
                    "bids": [["60000.1", "0.3", "0", "1"], ["59999.9", "2.0", "0", "4"]],
                    "ts": "1700000000000", "checksum": 0, "prevSeqId": -1, "seqId": self.seq}]})
        return out

    def update(self, bids: list[list[str]], asks: list[list[str]], *, skip: int = 0, ts: int = 1700000001000) -> dict:
        prev = self.seq + skip
        self.seq = prev + 1
        return {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [{
            "asks": asks, "bids": bids, "ts": str(ts), "checksum": 0, "prevSeqId": prev, "seqId": self.seq}]}


@pytest.fixture
def fake() -> Iterator[FakeOkx]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeOkx(rsps)


@pytest.fixture
def script() -> OkxVenue:
    return OkxVenue()


@pytest.fixture
def venue(script: OkxVenue) -> Iterator[WsServer]:
    with WsServer(script, path="/ws/v5") as server:
        yield server


@pytest.fixture
def okx(fake: FakeOkx, venue: WsServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[CcxtAdapter]:
    adapter = create(okx_account(monkeypatch, ws_url=venue.url, stream_stale_s=1.0))
    adapter.connect()
    try:
        yield adapter
    finally:
        adapter.close()


def book_reads(fake: FakeOkx) -> int:
    return sum(1 for c in fake.rsps.calls if "/market/books" in c.request.url)


def subscribed(venue: WsServer, channel: str) -> list[dict[str, Any]]:
    return venue.sent(lambda m: m.get("op") == "subscribe" and m["args"][0]["channel"] == channel)


def test_books_come_from_watch_order_book_and_updates_apply_in_sequence(
        okx: CcxtAdapter, fake: FakeOkx, venue: WsServer, script: OkxVenue) -> None:
    okx.book("BTC/USDT")
    assert book_reads(fake) == 1  # REST until the stream has the book
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.1, 0.3))
    reads = book_reads(fake)
    venue.send(script.update([["60000.1", "0"], ["60000.0", "1.5"]], []), "public")
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.0, 1.5))
    book = okx.book("BTC/USDT", depth=2)
    assert book.bids == [(60000.0, 1.5), (59999.9, 2.0)] and book.asks[0] == (60000.2, 0.5)
    assert book.ts == 1700000001.0 and book_reads(fake) == reads
    eventually(lambda: venue.sent(lambda m: m.get("op") == "login"), what="the private login")
    eventually(lambda: subscribed(venue, "orders"), what="watch_my_trades")


def test_a_broken_sequence_is_a_gap_resynced_from_rest_and_resubscribed(
        okx: CcxtAdapter, fake: FakeOkx, venue: WsServer, script: OkxVenue) -> None:
    okx.book("BTC/USDT")
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.1, 0.3))
    venue.send(script.update([["60000.0", "1.5"]], [], skip=3), "public")  # prevSeqId 103 after 100
    eventually(lambda: any(e.kind is K.RESYNC for e in okx.feed.log.peek()), what="the resync")  # type: ignore[union-attr]
    gap = next(e for e in okx.feed.log.peek() if e.kind is K.GAP)  # type: ignore[union-attr]
    assert gap.instrument == "BTC/USDT" and "InvalidNonce" in gap.detail
    eventually(lambda: len(subscribed(venue, "books")) == 2, what="the resubscription")
    venue.send(script.update([["60000.3", "0.7"]], []), "public")
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.3, 0.7))


def test_a_dropped_socket_falls_back_to_rest_and_the_stream_comes_back(
        okx: CcxtAdapter, fake: FakeOkx, venue: WsServer, script: OkxVenue) -> None:
    okx.book("BTC/USDT")
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.1, 0.3))
    venue.drop()
    eventually(lambda: any(e.kind is K.DISCONNECTED for e in okx.feed.log.peek()), what="the drop")  # type: ignore[union-attr]
    eventually(lambda: len(subscribed(venue, "books")) >= 2, what="the reconnect")
    eventually(lambda: okx.stream_status()["stream"] == "live")
    venue.send(script.update([["60000.4", "0.9"]], []), "public")
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.4, 0.9))


def test_a_silent_venue_is_stale_and_a_429_storm_on_the_rest_fallback_is_a_stale_error(
        okx: CcxtAdapter, fake: FakeOkx, venue: WsServer) -> None:
    okx.book("BTC/USDT")
    streamed(okx, "BTC/USDT", lambda b: b.bids[0] == (60000.1, 0.3))
    venue.hang()
    eventually(lambda: any(e.kind is K.STALE for e in okx.feed.log.peek()), what="the stale verdict")  # type: ignore[union-attr]
    for _ in range(5):
        fake.fault("/market/books", "429")
    reads = book_reads(fake)
    with pytest.raises(StaleDataError) as info:
        okx.book("BTC/USDT")  # not the old streamed book: REST, which is rate limited
    assert info.value.retry_after == 2.0
    for _ in range(3):
        with pytest.raises(StaleDataError):
            okx.book("BTC/USDT")
    assert book_reads(fake) == reads + 1  # the venue's Retry-After is waited out here
    assert okx.stream_status()["budget"]["rate_limited"] == 1


def test_an_exchange_without_a_stream_is_said_once_and_rest_serves(fake: FakeOkx, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = create(okx_account(monkeypatch))
    adapter.connect()

    def no_twin(parts: Any) -> Any:
        from venues.ccxt.stream import CcxtStream

        def fail() -> Any:
            raise RuntimeError("ccxt.pro has no such exchange")

        return CcxtStream(parts, fail)

    adapter.feed._stream = no_twin  # type: ignore[union-attr]
    try:
        assert adapter.book("BTC/USDT").bids and adapter.book("BTC/USDT").bids
        assert book_reads(fake) == 2
        events = adapter.stream_events()
        assert [e.kind for e in events] == [K.ERROR] and "no such exchange" in events[0].detail
        assert adapter.stream_status()["stream"] == "closed"
    finally:
        adapter.close()
