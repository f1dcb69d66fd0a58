"""Bars on the clock: closed bars of a declared timeframe, built from the venue's market data.

A bar covers ``[t0, t0 + timeframe)`` with ``t0`` a multiple of the timeframe in venue time
(the same grid as a venue's candles and a recorded bars CSV). It is handed over once, when a
snapshot at or after its end shows it is complete, carrying its open and the book sampled at
its close (the last snapshot inside it), so a kind that gates on the book sees the book of the
moment the bar closed. A period with no snapshot makes no bar (a gap, as in a bars file).
"""

from __future__ import annotations

from runner.kinds.base import NO_EXTRA, MarketEvent


class BarBuilder:
    """One instrument, one timeframe. :meth:`push` each snapshot; it returns the bars it closed."""

    __slots__ = ("instrument", "tf", "_t0", "_open", "_high", "_low", "_last", "_volume", "last_closed",
                 "closed_range", "_touch", "_seen")

    def __init__(self, instrument: str, timeframe_s: float) -> None:
        self.instrument = instrument
        self.tf = timeframe_s
        self._t0: float | None = None
        self._open = self._high = self._low = 0.0
        self._last: MarketEvent | None = None  # the latest snapshot inside the open bar
        self._volume = 0.0
        self.last_closed: float | None = None  # end of the latest bar handed over
        # (high, low, fill bid, fill ask, fill time) of that bar: recordings keep them. The previous
        # bar is known (and decided on) at this bar's first snapshot; an order sent then meets the
        # venue's next one, the bar's second: its touch and time are where and when a backtest of
        # the recording fills it (a time-stop counts from that fill).
        self.closed_range: tuple[float, float, float, float, float] | None = None
        self._touch = (0.0, 0.0, 0.0)
        self._seen = 0  # snapshots inside the open bar, up to 2

    @property
    def seen(self) -> float | None:
        """Venue time of the latest snapshot taken (None before any)."""
        return self._last.ts if self._last is not None else None

    def seed_after(self, bar_end: float) -> None:
        """Bars ending at or before ``bar_end`` were already handed over (warm-up history)."""
        self.last_closed = bar_end

    def push(self, snap: MarketEvent) -> MarketEvent | None:
        """Feed one snapshot (``snap.ts`` in venue time); the bar it closes, if any. A book read
        again (no newer than the last: the loop polled faster than the market moved) is no new
        snapshot: it neither counts as the touch an order met nor adds its volume twice."""
        if self._last is not None and snap.ts <= self._last.ts:
            return None
        t0 = snap.ts // self.tf * self.tf
        mid = (snap.bid + snap.ask) * 0.5
        closed = None
        if self._t0 is not None and t0 > self._t0:
            closed = self._close()
        if self._t0 is None or t0 > self._t0:
            if self.last_closed is not None and t0 + self.tf <= self.last_closed:
                return closed  # a bar the warm-up history already covered
            self._t0, self._open, self._high, self._low, self._volume = t0, mid, mid, mid, 0.0
            self._touch, self._seen = (snap.bid, snap.ask, snap.ts), 1
        else:
            self._high, self._low = max(self._high, mid), min(self._low, mid)
            if self._seen == 1:
                self._touch, self._seen = (snap.bid, snap.ask, snap.ts), 2
        self._volume += snap.volume
        self._last = snap
        return closed

    def _close(self) -> MarketEvent:
        assert self._t0 is not None and self._last is not None
        last = self._last
        end = self._t0 + self.tf
        close = (last.bid + last.ask) * 0.5
        self.last_closed = end
        self.closed_range = (max(self._high, close), min(self._low, close), *self._touch)
        self._t0 = None
        return MarketEvent(end, self.instrument, close, close, last.bid_sizes, last.ask_sizes, self._volume,
                           last.extra or NO_EXTRA, self._open, last.bid_prices, last.ask_prices)
