"""The candle closer below every venue's candle channel: a streamed candle is handed over once,
only after it closed, and a (re)connection is filled in from REST history, never doubled.

The venue ends are the real ones in ``test_candle_streams``; here the closer's rules are walked
one by one with candles as the venues send them (updated in place, then the next period).
"""

from __future__ import annotations

import pytest

from venues.base import Candle
from venues.streams.candles import MAX_HELD, CandleBook
from venues.streams.events import EventLog
from venues.streams.events import StreamEventKind as K

T0 = 1_700_000_040.0  # a minute boundary


def c(i: int, close: float, final_vol: float = 1.0) -> Candle:
    """The candle of minute ``i`` (open at T0 + 60 i) as it stands."""
    return Candle(T0 + 60 * i, 100.0 + i, max(100.0 + i, close), min(100.0 + i, close), close, final_vol)



class History:
    """A venue's REST candle history: closed candles, oldest first, as ``candles()`` gives them."""

    def __init__(self, candles: list[Candle]) -> None:
        self.candles = candles
        self.calls: list[int] = []
        self.fail: Exception | None = None

    def __call__(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        self.calls.append(limit)
        if self.fail is not None:
            raise self.fail
        return self.candles[-limit:]


@pytest.fixture
def book() -> CandleBook:
    clock = [T0]
    b = CandleBook("acct", EventLog(), grace_s=2.0, clock=lambda: clock[0])
    return b


def drain(b: CandleBook, now: float, after: float | None = None, history: History | None = None) -> list[tuple]:
    return [(x.ts, x.close) for x in b.drain("ETH", 60, now, after, history)]


def one_bar_handed() -> tuple[CandleBook, list[float], History]:
    """A book on a clock the test moves that has handed its first bar (ETH, 1m), and the REST
    history it reads."""
    clock = [T0]
    b = CandleBook("acct", EventLog(), grace_s=2.0, clock=lambda: clock[0])
    history = History([c(0, 100.5)])
    b.update("ETH", 60, c(0, 100.5))
    b.update("ETH", 60, c(1, 101.0))
    assert drain(b, T0 + 61, history=history) == [(T0, 100.5)]
    return b, clock, history


class TestACandleIsHandedOnceWhenClosed:
    def test_updates_in_place_hand_nothing_and_the_next_period_closes_the_candle_with_its_last_state(
            self, book: CandleBook) -> None:
        for px in (100.5, 101.0, 100.8):
            book.update("ETH", 60, c(0, px))
            assert drain(book, T0 + 30) == []  # in progress: never handed
        book.update("ETH", 60, c(1, 101.2))
        assert drain(book, T0 + 61) == [(T0, 100.8)]
        book.update("ETH", 60, c(1, 101.5))
        assert drain(book, T0 + 62) == []  # the new candle is in progress

    def test_a_late_update_of_a_closed_candle_is_dropped_not_handed_again(self, book: CandleBook) -> None:
        book.update("ETH", 60, c(0, 100.5))
        book.update("ETH", 60, c(1, 101.0))
        assert drain(book, T0 + 61) == [(T0, 100.5)]
        book.update("ETH", 60, c(0, 99.0))  # a straggler of minute 0
        book.update("ETH", 60, c(2, 102.0))
        assert drain(book, T0 + 121) == [(T0 + 60, 101.0)]

    def test_a_quiet_market_closes_on_the_venue_clock_after_the_grace(self, book: CandleBook) -> None:
        book.update("ETH", 60, c(0, 100.5))
        assert drain(book, T0 + 61) == []  # its period ended, but within the grace an update may come
        assert drain(book, T0 + 62) == [(T0, 100.5)]
        book.update("ETH", 60, c(0, 100.9))  # too late: it was handed
        assert drain(book, T0 + 70) == []

    def test_a_candle_the_venue_states_final_goes_at_once(self, book: CandleBook) -> None:
        book.update("ETH", 60, c(0, 100.5), final=True)
        assert drain(book, T0 + 60.5) == [(T0, 100.5)]
        book.update("ETH", 60, c(0, 100.5), final=True)  # repeated: not twice
        assert drain(book, T0 + 61) == []

    def test_bars_the_warm_up_already_handed_are_not_handed_again(self, book: CandleBook) -> None:
        book.update("ETH", 60, c(0, 100.5))
        book.update("ETH", 60, c(1, 101.0))
        book.update("ETH", 60, c(2, 102.0))
        assert drain(book, T0 + 121, after=T0 + 120) == []  # minutes 0 and 1 came from history


class TestAReconnectionIsFilledFromRestHistory:
    def test_the_candles_closed_while_down_come_from_rest_once_and_rest_wins_over_a_partial_one(
            self, book: CandleBook) -> None:
        history = History([c(0, 100.5), c(1, 101.7), c(2, 102.3)])
        book.update("ETH", 60, c(0, 100.5))
        book.update("ETH", 60, c(1, 101.1))  # minute 1 in progress...
        assert drain(book, T0 + 61, history=History([c(0, 100.5)])) == [(T0, 100.5)]
        book.reconnected()  # ...the socket dropped; minute 1 ended, minute 2 too
        book.update("ETH", 60, c(1, 101.3))  # a stale state of minute 1 on the new connection
        book.update("ETH", 60, c(3, 103.0))  # minute 3 in progress closes it (partial)
        assert drain(book, T0 + 190, history=history) == [(T0 + 60, 101.7), (T0 + 120, 102.3)]
        assert history.calls == [5]  # the periods since the last bar handed began, and one more
        book.update("ETH", 60, c(4, 104.0))
        assert drain(book, T0 + 241, history=history) == [(T0 + 180, 103.0)]
        resync = [e for e in book.log.peek() if e.kind is K.RESYNC]
        assert resync[-1].channel == "candle" and "bars from REST history" in resync[-1].detail

    def test_a_failing_rest_read_holds_the_newer_candles_and_then_lets_them_go_with_the_gap_recorded(
            self, book: CandleBook) -> None:
        b, clock, history = one_bar_handed()
        b.reconnected()
        history.fail = RuntimeError("429")
        held = []
        for i in range(2, 1 + MAX_HELD):
            b.update("ETH", 60, c(i, 100.0 + i))
            clock[0] += 5  # past the retry spacing
            held += drain(b, T0 + 60 * i + 1, history=history)
        assert held == []  # nothing goes out of order while the resync may still fill the gap
        calls = len(history.calls)
        assert drain(b, T0 + 60 * MAX_HELD + 2, history=history) == [] and len(history.calls) == calls  # spaced
        b.update("ETH", 60, c(1 + MAX_HELD, 100.0))
        clock[0] += 5
        out = drain(b, T0 + 60 * (1 + MAX_HELD) + 1, history=history)
        assert [ts for ts, _ in out] == [T0 + 60 * i for i in range(1, 1 + MAX_HELD)]
        errors = [e.detail for e in b.log.peek() if e.kind is K.ERROR]
        assert "held" in errors[0] and "handed without it" in errors[-1]

    def test_without_any_bar_handed_there_is_nothing_to_fill_in(self, book: CandleBook) -> None:
        history = History([c(0, 100.5)])
        book.update("ETH", 60, c(1, 101.0))
        assert drain(book, T0 + 61, history=history) == []
        assert history.calls == []


class TestWhileTheStreamIsDown:
    def test_nothing_is_read_while_down_and_the_new_connection_reads_back_after_the_last_bar_handed(self) -> None:
        """While down the runner builds the bars from books (``runner.marketdata.native``): no REST
        read per closed candle (it came late and spent the budget). ``after`` then carries the
        built bars, so the read on the new connection fills only what closed after them."""
        b, clock, history = one_bar_handed()
        b.disconnected()
        history.candles = [c(0, 100.5), c(1, 101.4), c(2, 102.2)]
        for now in (T0 + 125, T0 + 185, T0 + 300):
            assert b.drain("ETH", 60, now, None, history, live=False) == []
        assert history.calls == []  # nothing asked while down
        b.update("ETH", 60, c(2, 102.0))  # a stale word on minute 2 as the stream comes back
        b.reconnected()
        b.update("ETH", 60, c(3, 103.0))
        b.update("ETH", 60, c(4, 104.0))
        history.candles.append(c(3, 103.0))
        # minutes 1 and 2 were built from books meanwhile (after = the end of minute 2)
        got = [(x.ts, x.close) for x in b.drain("ETH", 60, T0 + 241, T0 + 180, history)]
        assert got == [(T0 + 180, 103.0)]  # minute 3 only: once, not doubled
        assert b.via("ETH", 60) == "rest"
        b.update("ETH", 60, c(5, 105.0))
        assert drain(b, T0 + 301, history=history) == [(T0 + 240, 104.0)]
        assert b.via("ETH", 60) == "stream"


def test_a_candle_closed_by_the_stream_wakes_the_account_thread_once() -> None:
    """The account's thread waits on its book cache; a close nudges it (a quiet book would
    otherwise leave the bar waiting for the next book or loop tick)."""
    from venues.streams.book import BookCache

    cache = BookCache()
    b = CandleBook("acct", EventLog(), grace_s=2.0, on_close=cache.nudge)
    seen = cache.version
    b.update("ETH", 60, c(0, 100.2))
    b.update("ETH", 60, c(0, 100.5))  # in progress: nothing to hand
    assert cache.version == seen
    b.update("ETH", 60, c(1, 101.0))  # minute 1 began: minute 0 closed
    assert cache.version == seen + 1
    assert cache.wait(lambda: cache.version != seen, 0.0)
    b.update("ETH", 60, c(0, 100.9))  # a late word on minute 0: dropped, no wake
    b.update("ETH", 60, c(1, 101.2))
    assert cache.version == seen + 1
    b.update("ETH", 60, c(1, 101.3), final=True)  # the venue says minute 1 is final
    assert cache.version == seen + 2
