"""Hyperliquid by WebSocket: the adapter's books come from ``l2Book`` while the stream is
live, REST covers every gap in it, and the budget holds REST inside the venue's limits.

The venue end is a local ``websockets`` server speaking the documented messages
(``subscriptionResponse``, ``l2Book`` snapshots, ``userFills`` with ``isSnapshot``, ``pong``);
REST is the real SDK over the faked HTTP layer of ``test_hyperliquid_fake``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from runner.errors import StaleDataError, TransientError
from tests.kit.wsserver import WsServer, eventually, streamed
from tests.venues import test_hyperliquid_fake as fake
from venues.hyperliquid.adapter import HyperliquidAdapter
from venues.hyperliquid.config import HyperliquidConfig
from venues.streams.events import StreamEventKind as K
from venues.streams.feed import feed_for


def hl_reply(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """What Hyperliquid answers: an ack per subscription, the userFills snapshot, pongs."""
    if msg.get("method") == "ping":
        return [{"channel": "pong"}]
    sub = msg.get("subscription") or {}
    out: list[dict[str, Any]] = [{"channel": "subscriptionResponse", "data": msg}]
    if sub.get("type") == "userFills":
        out.append({"channel": "userFills", "data": {"isSnapshot": True, "user": sub["user"], "fills": []}})
    return out


def l2(coin: str, ms: int, bid: str, ask: str) -> dict[str, Any]:
    return {"channel": "l2Book", "data": {"coin": coin, "time": ms, "levels": [
        [{"px": bid, "sz": "2.0", "n": 1}, {"px": str(float(bid) - 0.1), "sz": "5.0", "n": 2}],
        [{"px": ask, "sz": "1.5", "n": 1}, {"px": str(float(ask) + 0.1), "sz": "4.0", "n": 3}]]}}


@pytest.fixture
def hl() -> Iterator[fake.FakeHyperliquid]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield fake.FakeHyperliquid(rsps)


@pytest.fixture
def venue() -> Iterator[WsServer]:
    with WsServer(hl_reply) as server:
        yield server


def streaming(server: WsServer, **settings: Any) -> HyperliquidAdapter:
    cfg = HyperliquidConfig(ws_url=server.url, backoff_s=0.01, **settings)
    v = fake.make_adapter(cfg, connect=False)
    v.feed = feed_for("hl-test", "hyperliquid", cfg, protocol=v.stream_protocol, resync=v._rest_book)
    v.connect()
    return v


def book_requests(hl: fake.FakeHyperliquid) -> int:
    return sum(1 for path, body in hl.requests if body.get("type") == "l2Book")


def kinds(v: HyperliquidAdapter) -> list[K]:
    assert v.feed is not None
    return [e.kind for e in v.feed.log.peek()]


class TestBooksFromTheStream:
    def test_the_first_book_is_read_by_rest_and_then_served_from_the_stream_without_a_request(
            self, hl: fake.FakeHyperliquid, venue: WsServer) -> None:
        v = streaming(venue)
        try:
            assert v.book("ETH").bids[0] == (1890.1, 1.25)  # REST: the stream has nothing yet
            assert book_requests(hl) == 1
            eventually(lambda: venue.sent(lambda m: m.get("subscription", {}).get("type") == "l2Book"),
                       what="l2Book subscription")
            assert venue.sent(lambda m: m.get("subscription", {}).get("type") == "userFills")
            venue.send(l2("ETH", 1700000010000, "1900.5", "1900.6"))
            streamed(v, "ETH", lambda b: b.bids[0][0] == 1900.5)
            book = v.book("ETH", depth=1)
            assert book.bids == [(1900.5, 2.0)] and book.asks == [(1900.6, 1.5)] and book.ts == 1700000010.0
            assert book_requests(hl) == 1  # no request while the stream is live
            assert K.CONNECTED in kinds(v) and K.SUBSCRIBED in kinds(v)
            assert v.stream_status()["stream"] == "live"
        finally:
            v.close()

    def test_an_older_block_than_the_one_held_is_ignored(self, hl: fake.FakeHyperliquid, venue: WsServer) -> None:
        v = streaming(venue)
        try:
            v.book("ETH")
            eventually(lambda: venue.sent(lambda m: m.get("subscription", {}).get("type") == "l2Book"))
            venue.send(l2("ETH", 1700000020000, "1901.0", "1901.1"))
            venue.send(l2("ETH", 1700000010000, "1800.0", "1800.1"))  # out of order
            venue.send(l2("ETH", 1700000030000, "1902.0", "1902.1"))
            streamed(v, "ETH", lambda b: b.bids[0][0] == 1902.0)
            assert v.book("ETH").ts == 1700000030.0
        finally:
            v.close()


class TestAStreamThatFails:
    def test_a_dropped_connection_falls_back_to_rest_then_reconnects_and_resubscribes(
            self, hl: fake.FakeHyperliquid, venue: WsServer) -> None:
        v = streaming(venue)
        try:
            v.book("ETH")
            eventually(lambda: venue.sent(lambda m: m.get("subscription", {}).get("type") == "l2Book"))
            venue.send(l2("ETH", 1700000010000, "1900.5", "1900.6"))
            streamed(v, "ETH", lambda b: b.bids[0][0] == 1900.5)
            venue.drop()
            eventually(lambda: K.DISCONNECTED in kinds(v), what="the drop to be seen")
            eventually(lambda: venue.connections == 2, what="a reconnect")
            eventually(lambda: len(venue.sent(lambda m: m.get("subscription", {}).get("type") == "l2Book")) == 2,
                       what="the book resubscribed")
            # between the drop and the next l2Book the stream has no book: REST answers
            before = book_requests(hl)
            assert v.book("ETH").bids[0] == (1890.1, 1.25)
            assert book_requests(hl) == before + 1
            venue.send(l2("ETH", 1700000040000, "1910.0", "1910.1"))
            streamed(v, "ETH", lambda b: b.bids[0][0] == 1910.0)
            assert K.RECONNECT in kinds(v)
        finally:
            v.close()

    def test_a_silent_venue_makes_the_stream_stale_and_it_is_dropped_and_reconnected(
            self, hl: fake.FakeHyperliquid, venue: WsServer) -> None:
        v = streaming(venue, stream_stale_s=0.4)
        try:
            v.book("ETH")
            eventually(lambda: venue.sent(lambda m: m.get("subscription", {}).get("type") == "l2Book"))
            venue.send(l2("ETH", 1700000010000, "1900.5", "1900.6"))
            streamed(v, "ETH", lambda b: b.bids[0][0] == 1900.5)
            venue.hang()
            eventually(lambda: K.STALE in kinds(v), what="the stale verdict")
            stale = next(e for e in v.feed.log.peek() if e.kind is K.STALE)  # type: ignore[union-attr]
            assert "limit 0.4s" in stale.detail
            assert v.book("ETH").bids[0] == (1890.1, 1.25)  # REST while stale, not the old streamed book
            venue.hang(False)
            eventually(lambda: venue.connections >= 2, what="a reconnect after the stale verdict")
        finally:
            v.close()

    def test_a_429_storm_on_the_rest_fallback_is_a_stale_error_and_not_hammered(
            self, hl: fake.FakeHyperliquid) -> None:
        with WsServer(hl_reply) as venue:
            url = venue.url
        v = streaming(WsServerStub(url))  # nobody listens there: the stream stays down
        try:
            hl.info_queue["l2Book"] = [(429, None, {"Retry-After": "30"})] * 5
            with pytest.raises(StaleDataError) as info:
                v.book("ETH")
            assert info.value.retry_after == 30.0 and "stale market data for ETH" in str(info.value)
            for _ in range(3):
                with pytest.raises(StaleDataError):
                    v.book("ETH")
            assert book_requests(hl) == 1  # the rest waited out the venue's hint here
            assert v.stream_status()["budget"]["rate_limited"] == 1
        finally:
            v.close()


class WsServerStub:
    def __init__(self, url: str) -> None:
        self.url = url


def hl_reply_without_fill_snapshot(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in hl_reply(msg) if m.get("channel") != "userFills"]


class TestOwnFills:
    def test_the_fill_snapshot_after_subscribing_and_each_fill_are_signals(self) -> None:
        from venues.hyperliquid.stream import HyperliquidStream
        from venues.streams.protocol import FillSignal

        p = HyperliquidStream("ws://x/ws", coin=lambda s: s, symbol=lambda c: c, user=fake.ADDRESS)
        snap = {"channel": "userFills", "data": {"isSnapshot": True, "user": fake.ADDRESS, "fills": []}}
        assert p.handle(snap) == [FillSignal("snapshot")]
        assert p.handle({"channel": "orderUpdates", "data": [{"status": "open", "order": {}}]}) == []
        assert p.handle({"channel": "orderUpdates", "data": [{"status": "filled", "order": {}}]}) == [
            FillSignal("order filled")]

    def test_fills_are_read_by_rest_only_when_the_stream_signals_one(self, hl: fake.FakeHyperliquid) -> None:
        with WsServer(hl_reply_without_fill_snapshot) as venue:
            self._fills_follow_signals(hl, venue)

    def _fills_follow_signals(self, hl: fake.FakeHyperliquid, venue: WsServer) -> None:
        v = streaming(venue, fill_poll_s=3600)
        v.feed.fill_follow_s = 0.0  # type: ignore[union-attr]  # follow-up reads: test_stream_connection
        try:
            v.book("ETH")  # starts the stream
            assert v.feed is not None
            eventually(lambda: v.feed.connection is not None and v.feed.connection.is_live())
            page = v.fills(None)  # no cursor: always read
            fills_reads = lambda: sum(1 for _, b in hl.requests if b.get("type") == "userFillsByTime")  # noqa: E731
            first = fills_reads()
            v.fills(page.cursor or "0:")  # the (re)connect woke one read: the truth after a reconnect
            assert fills_reads() == first + 1
            v.fills(page.cursor or "0:")
            v.fills(page.cursor or "0:")
            assert fills_reads() == first + 1  # nothing signalled: no request
            venue.send({"channel": "userFills", "data": {"user": fake.ADDRESS, "fills": [{"coin": "ETH"}]}})
            eventually(lambda: v.feed._woken.is_set(), what="the fill signal")  # type: ignore[union-attr]
            v.fills(page.cursor or "0:")
            assert fills_reads() == first + 2
        finally:
            v.close()


def test_without_streaming_every_book_is_a_rest_read(hl: fake.FakeHyperliquid) -> None:
    cfg = HyperliquidConfig(stream=False)
    v = fake.make_adapter(cfg, connect=False)
    v.feed = feed_for("hl-test", "hyperliquid", cfg, protocol=v.stream_protocol)
    v.connect()
    v.book("ETH")
    v.book("ETH")
    assert book_requests(hl) == 2 and v.stream_status()["stream"] == "off"
    hl.info_queue["l2Book"] = [(429, None, {})]
    with pytest.raises(TransientError) as info:
        v.book("ETH")
    assert not isinstance(info.value, StaleDataError)
