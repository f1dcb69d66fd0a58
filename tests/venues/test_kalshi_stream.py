"""Kalshi by WebSocket: a signed handshake, an ``orderbook_snapshot`` then ``orderbook_delta``
messages numbered by ``seq`` per subscription; a skipped ``seq`` drops the market's book,
resyncs it from the REST order book and asks the venue for a fresh snapshot.

The venue end is a local ``websockets`` server speaking the documented messages; REST is the
adapter's real httpx client over the ``respx`` fake of ``test_kalshi_fake``.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from runner.errors import StaleDataError
from tests.kit.wsserver import WsServer, eventually, streamed
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import TICKER, key_file, rsa_key  # noqa: F401 - fixtures
from venues.kalshi.adapter import KalshiAdapter
from venues.kalshi.config import KalshiConfig
from venues.kalshi.signing import PSS
from venues.kalshi.stream import ws_url
from venues.streams.events import StreamEventKind as K
from venues.streams.feed import feed_for


class KalshiVenue:
    """Answers subscribe/unsubscribe like Kalshi: an ack, then the market's snapshot (seq 1)."""

    def __init__(self) -> None:
        self.sids = itertools.count(1)
        self.sid_of: dict[str, int] = {}

    def __call__(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        params = msg.get("params") or {}
        if msg.get("cmd") == "unsubscribe":
            return [{"id": msg["id"], "type": "unsubscribed", "sid": params["sids"][0]}]
        if msg.get("cmd") != "subscribe":
            return []
        channel = params["channels"][0]
        sid = next(self.sids)
        out: list[dict[str, Any]] = [{"id": msg["id"], "type": "subscribed", "msg": {"channel": channel, "sid": sid}}]
        if channel == "orderbook_delta":
            ticker = params["market_ticker"]
            self.sid_of[ticker] = sid
            out.append({"type": "orderbook_snapshot", "sid": sid, "seq": 1, "msg": {
                "market_ticker": ticker, "market_id": "9b0f6b43",
                "yes_dollars_fp": [["0.3900", "10.00"], ["0.4000", "12.00"]],
                "no_dollars_fp": [["0.5500", "20.00"], ["0.5800", "17.00"]]}})
        return out

    def delta(self, ticker: str, seq: int, price: str, delta: str, side: str = "yes") -> dict[str, Any]:
        return {"type": "orderbook_delta", "sid": self.sid_of[ticker], "seq": seq, "msg": {
            "market_ticker": ticker, "price_dollars": price, "delta_fp": delta, "side": side,
            "ts": "2026-11-29T10:00:00Z"}}


@pytest.fixture
def k() -> Iterator[fake.FakeKalshi]:
    with respx.mock(assert_all_called=False) as router:
        yield fake.FakeKalshi(router)


@pytest.fixture
def script() -> KalshiVenue:
    return KalshiVenue()


@pytest.fixture
def venue(script: KalshiVenue) -> Iterator[WsServer]:
    with WsServer(script, path="/trade-api/ws/v2") as server:
        yield server


def streaming(key: Path, server: WsServer, **settings: Any) -> KalshiAdapter:
    cfg = KalshiConfig(tickers=(TICKER,), page_limit=2, ws_url=server.url, backoff_s=0.01, **settings)
    v = fake.make_adapter(key, cfg)
    v.feed = feed_for("kalshi-test", "kalshi", cfg, protocol=v.stream_protocol, resync=v._rest_book)
    v.feed.stamp_as_of = True  # as create() does
    v._http.budget = v.feed.budget  # type: ignore[union-attr]  # create() wires this before connect()
    return v


def book_reads(k: fake.FakeKalshi) -> int:
    return sum(1 for r in k.calls if r.url.path.endswith("/orderbook"))


def test_the_websocket_url_follows_the_rest_url() -> None:
    assert ws_url("https://demo-api.kalshi.co/trade-api/v2") == "wss://demo-api.kalshi.co/trade-api/ws/v2"
    assert ws_url("http://127.0.0.1:8123/trade-api/v2/") == "ws://127.0.0.1:8123/trade-api/ws/v2"


def test_the_handshake_is_signed_like_rest(k: fake.FakeKalshi, key_file: Path, rsa_key: rsa.RSAPrivateKey,  # noqa: F811
                                           venue: WsServer) -> None:
    v = streaming(key_file, venue)
    try:
        v.book(f"{TICKER}:yes")
        eventually(lambda: venue.connections == 1)
        h = {name.lower(): value for name, value in venue.handshakes[0].items()}
        assert h["kalshi-access-key"] == fake.KEY_ID
        message = f"{h['kalshi-access-timestamp']}GET/trade-api/ws/v2".encode()
        rsa_key.public_key().verify(base64.b64decode(h["kalshi-access-signature"]), message, PSS, hashes.SHA256())
        eventually(lambda: venue.sent(lambda m: m.get("params", {}).get("channels") == ["fill"]), what="fills")
    finally:
        v.close()


def test_deltas_in_sequence_keep_the_book_and_both_sides_are_served_without_requests(
        k: fake.FakeKalshi, key_file: Path, venue: WsServer, script: KalshiVenue) -> None:  # noqa: F811
    v = streaming(key_file, venue)
    try:
        v.book(f"{TICKER}:yes")
        assert book_reads(k) == 1
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
        reads = book_reads(k)
        venue.send(script.delta(TICKER, 2, "0.4300", "7.00"))
        venue.send(script.delta(TICKER, 3, "0.4000", "-12.00"))
        streamed(v, f"{TICKER}:yes", lambda b: b.bids == [(43.0, 7.0), (39.0, 10.0)])
        yes = v.book(f"{TICKER}:yes")
        assert yes.bids == [(43.0, 7.0), (39.0, 10.0)] and yes.asks[0] == (42.0, 17.0)  # 100 - best NO bid
        streamed(v, f"{TICKER}:no", lambda b: b.asks[0] == (57.0, 7.0))  # both sides are put in turn
        no = v.book(f"{TICKER}:no")
        assert no.bids[0] == (58.0, 17.0) and no.asks[0] == (57.0, 7.0)
        assert book_reads(k) == reads
        assert len(venue.sent(lambda m: m.get("params", {}).get("channels") == ["orderbook_delta"])) == 1
    finally:
        v.close()


def test_a_sequence_gap_resyncs_from_rest_and_resubscribes_the_market(
        k: fake.FakeKalshi, key_file: Path, venue: WsServer, script: KalshiVenue) -> None:  # noqa: F811
    v = streaming(key_file, venue)
    try:
        v.book(f"{TICKER}:yes")
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
        reads = book_reads(k)
        venue.send(script.delta(TICKER, 2, "0.4300", "7.00"))
        venue.send(script.delta(TICKER, 5, "0.4400", "1.00"))  # 3 and 4 lost
        eventually(lambda: venue.sent(lambda m: m.get("cmd") == "unsubscribe"), what="the unsubscribe")
        events = v.stream_events()
        gaps = [e for e in events if e.kind is K.GAP]
        assert {e.instrument for e in gaps} == {f"{TICKER}:yes", f"{TICKER}:no"}
        assert "seq 5 after 2" in gaps[0].detail
        assert {e.instrument for e in events if e.kind is K.RESYNC} == {f"{TICKER}:yes", f"{TICKER}:no"}
        assert book_reads(k) == reads + 2  # one REST snapshot per side
        eventually(lambda: len(venue.sent(lambda m: m.get("params", {}).get("market_ticker") == TICKER)) == 2,
                   what="the resubscription")
        # the fresh snapshot (a new sid, seq 1) replaces the REST one; its deltas apply again
        venue.send(script.delta(TICKER, 2, "0.4400", "3.00"))
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (44.0, 3.0))
        assert v.stream_status()["events"]["gap"] == 2
    finally:
        v.close()


def test_a_fill_message_wakes_the_rest_fill_read(k: fake.FakeKalshi, key_file: Path, venue: WsServer) -> None:  # noqa: F811
    v = streaming(key_file, venue, fill_poll_s=3600)
    assert v.feed is not None
    v.feed.fill_follow_s = 0.0  # follow-up reads: test_stream_connection
    try:
        v.book(f"{TICKER}:yes")
        eventually(lambda: v.feed.connection is not None and v.feed.connection.is_live())  # type: ignore[union-attr]
        reads = lambda: sum(1 for r in k.calls if r.url.path.endswith("/portfolio/fills"))  # noqa: E731
        v.fills("0:")  # woken by the connect
        n = reads()
        v.fills("0:")
        assert reads() == n
        venue.send({"type": "fill", "sid": 99, "msg": {"trade_id": "d91bc706", "order_id": "ee587a1c",
                                                        "market_ticker": TICKER, "is_taker": True, "side": "yes",
                                                        "yes_price_dollars": "0.750", "count_fp": "2.00",
                                                        "action": "buy", "ts": 1671899397}})
        eventually(lambda: v.feed._woken.is_set())  # type: ignore[union-attr]
        v.fills("0:")
        assert reads() == n + 1
    finally:
        v.close()


def test_a_reconnect_signs_a_new_handshake_and_resubscribes(
        k: fake.FakeKalshi, key_file: Path, venue: WsServer, script: KalshiVenue) -> None:  # noqa: F811
    v = streaming(key_file, venue)
    try:
        v.book(f"{TICKER}:yes")
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
        venue.drop()
        eventually(lambda: venue.connections == 2, what="the reconnect")
        eventually(lambda: len(venue.sent(lambda m: m.get("params", {}).get("market_ticker") == TICKER)) == 2,
                   what="the resubscription")
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
        assert all("KALSHI-ACCESS-SIGNATURE".lower() in {h.lower() for h in hs} for hs in venue.handshakes)
        kinds = [e.kind for e in v.stream_events()]
        assert kinds.count(K.CONNECTED) == 2 and K.DISCONNECTED in kinds and K.RECONNECT in kinds
    finally:
        v.close()


def test_a_429_storm_on_the_rest_fallback_is_stale_data_and_waits_out_the_hint(
        key_file: Path, venue: WsServer) -> None:  # noqa: F811
    with respx.mock(assert_all_called=False) as router:
        storm = router.get(url__regex=r".*/markets/[^/?]+/orderbook").mock(
            return_value=httpx.Response(429, headers={"Retry-After": "4"}, json={"code": "too_many_requests"}))
        fake.FakeKalshi(router)
        v = streaming(key_file, venue)
        try:
            venue.hang()  # connected but silent: no snapshot ever comes
            with pytest.raises(StaleDataError) as info:
                v.book(f"{TICKER}:yes")
            assert info.value.retry_after == 4.0
            for _ in range(3):
                with pytest.raises(StaleDataError):
                    v.book(f"{TICKER}:yes")
            assert storm.call_count == 1
            assert v.stream_status()["budget"]["rate_limited"] == 1
        finally:
            venue.hang(False)
            v.close()


def test_an_emptied_market_is_asked_of_rest_not_served_empty(
        k: fake.FakeKalshi, key_file: Path, venue: WsServer, script: KalshiVenue) -> None:  # noqa: F811
    v = streaming(key_file, venue)
    try:
        v.book(f"{TICKER}:yes")
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
        for seq, (price, delta, side) in enumerate([("0.3900", "-10.00", "yes"), ("0.4000", "-12.00", "yes"),
                                                    ("0.5500", "-20.00", "no"), ("0.5800", "-17.00", "no")], 2):
            venue.send(script.delta(TICKER, seq, price, delta, side))
        streamed(v, f"{TICKER}:yes", lambda b: not b.bids and not b.asks)
        reads = book_reads(k)
        assert v.book(f"{TICKER}:yes").bids[0] == (42.0, 13.0)  # the REST book (orderbook_fp fixture)
        assert book_reads(k) == reads + 1
    finally:
        v.close()


def test_a_quiet_market_is_current_as_of_the_last_word_from_the_venue(
        k: fake.FakeKalshi, key_file: Path, venue: WsServer) -> None:  # noqa: F811
    v = streaming(key_file, venue)
    try:
        v.book(f"{TICKER}:yes")
        streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
        stamped = v.feed.cache.get(f"{TICKER}:yes")[0].ts  # type: ignore[union-attr, index]
        venue.send({"id": 99, "type": "ok", "msg": {}})  # no book change, but the venue is there
        eventually(lambda: v.book(f"{TICKER}:yes").ts > stamped, what="a later as-of time")
        assert v.book(f"{TICKER}:yes").bids[0] == (40.0, 12.0)
    finally:
        v.close()


class TruthVenue:
    """A Kalshi market whose true book changes by random deltas; some delta messages are lost
    on the way. Every state change and its message happen on the server's loop, in order."""

    def __init__(self, seed: int) -> None:
        import random

        self.rng = random.Random(seed)
        self.truth: dict[str, dict[int, int]] = {"yes": {40: 12, 39: 10}, "no": {58: 17, 55: 20}}
        self.sids = itertools.count(1)
        self.sid = 0
        self.seq = 0
        self.lost = 0
        self.server: WsServer | None = None

    def snapshot(self) -> dict[str, Any]:
        self.seq = 1
        return {"type": "orderbook_snapshot", "sid": self.sid, "seq": 1, "msg": {
            "market_ticker": TICKER, **{side: sorted([p, n] for p, n in lv.items()) for side, lv in self.truth.items()}}}

    def __call__(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        params = msg.get("params") or {}
        if msg.get("cmd") == "subscribe" and params.get("channels") == ["orderbook_delta"]:
            self.sid = next(self.sids)
            return [{"id": msg["id"], "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": self.sid}},
                    self.snapshot()]
        return []

    async def step(self, lose: bool) -> None:
        side = self.rng.choice(["yes", "no"])
        price = self.rng.randint(35, 60) if side == "yes" else self.rng.randint(50, 65)
        held = self.truth[side].get(price, 0)
        delta = self.rng.choice([-held, self.rng.randint(1, 9)]) if held else self.rng.randint(1, 9)
        if held + delta:
            self.truth[side][price] = held + delta
        else:
            del self.truth[side][price]
        self.seq += 1
        self.lost += lose
        if not lose and self.sid and self.server is not None:
            await self.server.broadcast({"type": "orderbook_delta", "sid": self.sid, "seq": self.seq,
                                         "msg": {"market_ticker": TICKER, "price": price, "delta": delta,
                                                 "side": side}})

    def yes_bids(self) -> list[tuple[float, float]]:
        return sorted(((float(p), float(n)) for p, n in self.truth["yes"].items()), reverse=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_with_lost_deltas_the_streamed_book_always_comes_back_to_the_venues_book(
        k: fake.FakeKalshi, key_file: Path, seed: int) -> None:  # noqa: F811
    truth = TruthVenue(seed)
    with WsServer(truth, path="/trade-api/ws/v2") as server:
        truth.server = server
        v = streaming(key_file, server)
        try:
            v.book(f"{TICKER}:yes")
            streamed(v, f"{TICKER}:yes", lambda b: b.bids[0] == (40.0, 12.0))
            for _ in range(150):
                server.run(truth.step(lose=truth.rng.random() < 0.05))
            server.run(truth.step(lose=False))  # the last loss, if any, shows as a gap now
            expected = truth.yes_bids()[:20]
            streamed(v, f"{TICKER}:yes", lambda b: list(b.bids) == expected, timeout=20)
            gaps = sum(e.kind is K.GAP and e.instrument.endswith(":yes")
                       for e in v.feed.log.peek())  # type: ignore[union-attr]
            assert truth.lost > 0 and 0 < gaps <= truth.lost  # losses were seen as gaps, and the book converged
        finally:
            v.close()
