"""The stream machinery every venue shares: reconnect delays, the event log, level books, and a
stop that never waits out a venue that hangs mid-handshake."""

from __future__ import annotations

import random
import socket
from typing import Any

from tests.kit.wsserver import WsServer, eventually
from venues.base import BookSnapshot
from venues.ratelimit import RequestBudget
from venues.streams.book import BookCache, LevelBook
from venues.streams.connection import ReconnectBackoff, StreamConnection
from venues.streams.events import EventLog, StreamEvent, StreamEventKind, StreamState
from venues.streams.feed import AccountFeed
from venues.streams.protocol import StreamProtocol, Update


class Silent(StreamProtocol):
    def __init__(self, url: str) -> None:
        self.url = url

    def subscribe(self, instrument: str) -> list[dict[str, Any]]:
        return []

    def handle(self, msg: Any) -> list[Update]:
        return []


def test_reconnect_delays_grow_exponentially_with_full_jitter_and_a_cap() -> None:
    b, rng = ReconnectBackoff(base_s=0.5, cap_s=30.0), random.Random(7)
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2**attempt)
        delays = [b.delay(attempt, rng) for _ in range(200)]
        assert all(0.05 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not one fixed step
    assert max(b.delay(40, rng) for _ in range(200)) <= 30.0


def test_the_event_log_is_bounded_and_keeps_counts_across_drains() -> None:
    log = EventLog(maxlen=3)
    for i in range(5):
        log.add(StreamEvent(float(i), "a", StreamEventKind.GAP, instrument=str(i)))
    assert [e.instrument for e in log.drain()] == ["2", "3", "4"]
    assert log.drain() == [] and log.counts() == {"gap": 5}


def test_level_books_take_deltas_and_absolute_levels() -> None:
    book = LevelBook([(42.0, 13.0), (41.0, 10.0), (40.0, 0.0)])
    book.apply(42.0, -13.0)
    book.apply(43.0, 7.0)
    book.set(41.0, 0.0)
    book.set(39.0, 2.0)
    assert book.best_first() == [(43.0, 7.0), (39.0, 2.0)]
    assert book.best_first(descending=False) == [(39.0, 2.0), (43.0, 7.0)]


def test_without_a_live_stream_the_feed_reads_rest_and_reads_fills_every_time() -> None:
    feed = AccountFeed("a", RequestBudget("a", {}))
    rest = BookSnapshot("X", 1.0, [(1.0, 1.0)], [(2.0, 1.0)])
    assert feed.book("X", 5, lambda: rest) is rest
    assert feed.fills_due() and feed.fills_due()
    assert feed.status() == {"stream": "off", "budget": feed.budget.status(), "events": {}}


def test_closing_does_not_wait_out_a_venue_that_hangs_in_the_handshake() -> None:
    with socket.socket() as listener:  # accepts TCP, never answers the WebSocket upgrade
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"ws://127.0.0.1:{listener.getsockname()[1]}/ws"
        conn = StreamConnection("a", Silent(url), BookCache(), EventLog(), stale_after_s=60.0)
        conn.start()
        conn.want("X")
        accepted, _ = listener.accept()  # the client is now inside its 60 s handshake
        with accepted:
            conn.close(timeout=10.0)
            assert conn._thread is not None and not conn._thread.is_alive()
            assert conn.state is StreamState.CLOSED
            assert [e.kind for e in conn.log.peek()][-1] is StreamEventKind.CLOSED


def test_a_venue_that_refuses_connections_is_retried_ever_later_and_each_try_is_recorded() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{s.getsockname()[1]}/ws"
    log = EventLog()
    conn = StreamConnection("a", Silent(url), BookCache(), log, backoff=ReconnectBackoff(base_s=0.01, cap_s=0.05))
    conn.start()
    try:
        eventually(lambda: sum(e.kind is StreamEventKind.RECONNECT for e in log.peek()) >= 4, what="retries")
        retries = [e.detail for e in log.peek() if e.kind is StreamEventKind.RECONNECT][:4]
        assert [d.rsplit("retry ", 1)[1] for d in retries] == ["1)", "2)", "3)", "4)"]
        assert all(e.kind in (StreamEventKind.DISCONNECTED, StreamEventKind.RECONNECT) for e in log.peek())
        assert conn.state is not StreamState.LIVE and not conn.is_live()
    finally:
        conn.close()


def test_a_venue_that_answers_then_hangs_up_is_not_redialled_in_a_tight_loop() -> None:
    log = EventLog()
    with WsServer(lambda m: [], greet=[{"channel": "error", "data": "Too many connections"}], hang_up=True) as venue:
        conn = StreamConnection("a", Silent(venue.url), BookCache(), log,
                                backoff=ReconnectBackoff(base_s=0.01, cap_s=0.05))
        conn.start()
        try:
            eventually(lambda: sum(e.kind is StreamEventKind.RECONNECT for e in log.peek()) >= 3, what="retries")
        finally:
            conn.close()
    retries = [e.detail.rsplit("retry ", 1)[1] for e in log.peek() if e.kind is StreamEventKind.RECONNECT][:3]
    assert retries == ["1)", "2)", "3)"]  # heard, but no data: the backoff keeps growing


class LiveStub:
    """A stream that is live: what the feed asks of one (no socket needed for the fill rule)."""

    state = StreamState.LIVE
    connects = 1
    last_heard = 0.0
    stale_after_s = 30.0

    def start(self) -> None: ...
    def want(self, instrument: str) -> None: ...
    def is_live(self) -> bool:
        return True
    def close(self, timeout: float = 5.0) -> None: ...


def test_with_a_live_stream_fills_are_read_on_a_signal_a_few_times_after_and_on_the_safety_poll() -> None:
    t = [100.0]
    feed = AccountFeed("a", RequestBudget("a", {}), stream=lambda parts: LiveStub(), fill_poll_s=5.0,
                       clock=lambda: t[0])
    feed.start()
    woken = feed._woken
    reads = []

    def tick(dt: float) -> None:
        t[0] += dt
        reads.append(feed.fills_due())

    tick(0.0)  # nothing read yet: the safety poll is due
    tick(0.2)
    woken.set()  # the stream saw a fill
    for _ in range(12):  # 2.4 s at 5 Hz
        tick(0.2)
    tick(3.0)  # past the follow-up window, before the safety poll
    tick(2.0)  # the safety poll
    assert reads == [True, False, True, False, False, True, False, False, True, False, False, True, False, False,
                     False, True]
