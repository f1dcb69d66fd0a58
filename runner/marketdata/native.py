"""Bars taken from the venue's own candles (its candle stream), where it has the timeframe.

The adapter's ``closed_bars`` hands each closed candle once (see ``venues.streams.candles``);
here each becomes the bar event a builder would have made: at its end, its open and close, and
the book of the moment it is handed over, so a kind that gates on the book sees the book it
decides on, and the recording keeps that same book. A bar is never handed twice: nothing ending
at or before the last bar handed (warm-up history included) goes out again.

For the recording, a bar carries its candle's high and low and, like a built bar, the touch an
order decided on the previous bar met: the book of the snapshot after that bar was handed over.
"""

from __future__ import annotations

from runner.kinds.base import NO_EXTRA, MarketEvent
from venues.base import Candle


class NativeBars:
    """One instrument, one timeframe. :meth:`push` each snapshot with the candles the venue closed
    since the last one (the adapter's ``closed_bars``, asked with :attr:`last_end`); it returns
    the bars handed over."""

    __slots__ = ("instrument", "tf", "last_end", "ranges", "_touch_for", "_touches")

    def __init__(self, instrument: str, timeframe_s: int, after: float | None) -> None:
        self.instrument = instrument
        self.tf = timeframe_s
        self.last_end = after  # end of the last bar handed over
        # (high, low[, fill bid, fill ask, fill time]) of the bars of the last push, by their end: recordings keep them
        self.ranges: dict[float, tuple[float, ...]] = {}
        self._touch_for: float | None = None  # open of the bar the next snapshot's touch is the fill of
        self._touches: dict[float, tuple[float, float, float]] = {}

    def seed_after(self, bar_end: float) -> None:
        """Bars ending at or before ``bar_end`` were already handed over (warm-up history)."""
        if self.last_end is None or bar_end > self.last_end:
            self.last_end = bar_end

    def push(self, snap: MarketEvent, candles: list[Candle]) -> list[MarketEvent]:
        if self._touch_for is not None:  # an order decided on the last bar met this book
            self._touches = {self._touch_for: (snap.bid, snap.ask, snap.ts)}
            self._touch_for = None
        self.ranges = {}
        out = []
        for c in candles:
            end = c.ts + self.tf
            if self.last_end is not None and end <= self.last_end:
                continue  # handed already (a warm-up bar, or the venue repeating itself)
            self.last_end = end
            touch = self._touches.pop(c.ts, None)
            self.ranges[end] = (c.high, c.low, *touch) if touch else (c.high, c.low)
            out.append(MarketEvent(end, self.instrument, c.close, c.close, snap.bid_sizes, snap.ask_sizes, c.volume,
                                   snap.extra or NO_EXTRA, c.open, snap.bid_prices, snap.ask_prices))
        if out:
            self._touch_for = self.last_end  # the open of the next bar
        return out
