"""The sim's stream: in process, through the same interface as the venues' sockets.

The sim is its own venue, so its "stream" is the market pushing each new step's book into the
feed's cache as it moves; ``book()`` then serves it like any streamed book. The test fault
``stream:down`` in ``SimAdapter.faults`` drops the stream (REST serves; with ``down:book`` too,
the variant gets ``StaleDataError``) and removing it reconnects, recording the same events a
venue's stream does. No thread, no socket: deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from venues.base import BookSnapshot
from venues.streams.events import StreamEvent, StreamEventKind, StreamState
from venues.streams.feed import StreamParts

K = StreamEventKind


class SimStream:
    def __init__(self, parts: StreamParts, clock: Callable[[], float] = time.time) -> None:
        self.parts = parts
        self._clock = clock
        self.stale_after_s = parts.stale_after_s or 30.0
        self.state = StreamState.CONNECTING
        self.connects = 0
        self.last_heard = 0.0
        self.wanted: set[str] = set()

    def _event(self, kind: StreamEventKind, instrument: str = "", detail: str = "") -> None:
        self.parts.log.add(StreamEvent(self._clock(), self.parts.account, kind, "", instrument, detail))

    def start(self) -> None:
        if self.state is StreamState.CONNECTING:
            self.up()

    def want(self, instrument: str) -> None:
        self.wanted.add(instrument)

    def want_candles(self, instrument: str, timeframe_s: int) -> None:
        """The sim has no candle channel (no ``native_bars``): its bars are built from its books."""

    def is_live(self) -> bool:
        return self.state is StreamState.LIVE

    def close(self, timeout: float = 5.0) -> None:
        if self.state is not StreamState.CLOSED:
            self.state = StreamState.CLOSED
            self._event(K.CLOSED)

    # --- driven by the sim ---------------------------------------------------------------------
    def publish(self, book: BookSnapshot) -> None:
        """A market step of a subscribed instrument: its book is pushed."""
        if self.state is StreamState.LIVE and book.instrument in self.wanted:
            self.last_heard = time.monotonic()
            self.parts.cache.put(book)

    def up(self) -> None:
        self.parts.wake_fills()
        self.state = StreamState.LIVE
        self.connects += 1
        self.last_heard = time.monotonic()
        self._event(K.CONNECTED, detail=f"connection {self.connects}")

    def down(self, detail: str) -> None:
        self.state = StreamState.DOWN
        self.parts.cache.invalidate()
        self._event(K.DISCONNECTED, detail=detail)

    def follow(self, faults: list[str]) -> None:
        """Apply the ``stream:down`` test fault: drop while it is set, reconnect once it is gone."""
        if "stream:down" in faults and self.state is StreamState.LIVE:
            self.down("fault stream:down")
        elif "stream:down" not in faults and self.state is StreamState.DOWN:
            self._event(K.RECONNECT, detail="fault cleared")
            self.up()
