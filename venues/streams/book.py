"""The latest streamed books of one account, and a price-level book that deltas maintain.

:class:`BookCache` is written by the stream thread and read by the trading loop; a book is
served only while its connection is live (see ``feed``). :class:`LevelBook` keeps one side's
levels exactly as a venue's snapshot-plus-delta channel describes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from venues.base import BookSnapshot


class LevelBook:
    """price -> size of one side: a delta adds to a level (Kalshi) or an update sets it (Alpaca);
    a level at or below zero goes."""

    __slots__ = ("levels",)

    def __init__(self, rows: Iterable[tuple[float, float]] = ()) -> None:
        self.levels: dict[float, float] = {}
        for price, size in rows:
            if size > 0:
                self.levels[price] = size

    def apply(self, price: float, delta: float) -> None:
        size = self.levels.get(price, 0.0) + delta
        if size > 1e-12:
            self.levels[price] = size
        else:
            self.levels.pop(price, None)

    def set(self, price: float, size: float) -> None:
        """A level as the venue states it now (Alpaca's updates); size 0 removes it."""
        if size > 0:
            self.levels[price] = size
        else:
            self.levels.pop(price, None)

    def best_first(self, descending: bool = True) -> list[tuple[float, float]]:
        return sorted(self.levels.items(), reverse=descending)


class BookCache:
    """Latest book per instrument with the local time it arrived. ``version`` moves on every
    put, so a waiter (tests, the benchmark) can block until something new is in."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._books: dict[str, tuple[BookSnapshot, float]] = {}
        self._clock = clock
        self._cond = threading.Condition()
        self.version = 0

    def put(self, book: BookSnapshot) -> None:
        with self._cond:
            self._books[book.instrument] = (book, self._clock())
            self.version += 1
            self._cond.notify_all()

    def get(self, instrument: str) -> tuple[BookSnapshot, float] | None:
        with self._cond:
            return self._books.get(instrument)

    def invalidate(self, instrument: str | None = None) -> None:
        """Forget one book (after a gap) or all (after a disconnect): REST serves meanwhile."""
        with self._cond:
            if instrument is None:
                self._books.clear()
            else:
                self._books.pop(instrument, None)
            self.version += 1
            self._cond.notify_all()

    def nudge(self) -> None:
        """Wake the waiters without a new book (a candle closed: the bar is due now)."""
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` holds after a put/invalidate, at most ``timeout`` s."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)
