"""Bars taken from the venue's own candles (its candle stream), where it has the timeframe, and
built from the books while that stream is down.

The adapter's ``closed_bars`` hands each closed candle once (see ``venues.streams.candles``);
here each becomes the bar event a builder would have made: at its end, its open and close, and
the book of the moment it is handed over, so a kind that gates on the book sees the book it
decides on, and the recording keeps that same book. A bar is never handed twice: nothing ending
at or before the last bar handed (warm-up history included) goes out again.

While the candle stream is not live (it dropped, or its socket never connected) the bars come
from a :class:`BarBuilder` fed every snapshot all along, as on a venue without candles: on time,
where a REST read per closed candle came a grace and a poll late. The builder runs while the
candles are live too, so a drop mid-bar still has that bar's whole period; its bar of a period
the candles did not close before the drop (the one in its grace) is kept and handed at the drop.
Back on the candles, the first read fills from REST what closed after the last bar handed, the
candles then go on: at either switch no bar is doubled or missing.

For the recording, a bar carries its high and low and, like a built bar, the touch an order
decided on the previous bar met: the book of the snapshot after that bar was handed over.
"""

from __future__ import annotations

from runner.kinds.base import NO_EXTRA, MarketEvent
from runner.marketdata.bars import BarBuilder
from venues.base import Candle

CANDLES, REST, BOOKS = "candles", "rest", "books"  # where the latest bar came from (runner status)


class NativeBars:
    """One instrument, one timeframe. :meth:`push` each snapshot with the candles the venue closed
    since the last one (the adapter's ``closed_bars``, asked with :attr:`last_end`) and whether
    its candle stream is live; it returns the bars handed over."""

    __slots__ = ("instrument", "tf", "last_end", "ranges", "source", "live", "_touch_for", "_touches",
                 "_builder", "_held")

    def __init__(self, instrument: str, timeframe_s: int, after: float | None) -> None:
        self.instrument = instrument
        self.tf = timeframe_s
        self.last_end = after  # end of the last bar handed over
        # (high, low[, fill bid, fill ask, fill time]) of the bars of the last push, by their end: recordings keep them
        self.ranges: dict[float, tuple[float, ...]] = {}
        self.source: str | None = None  # CANDLES, REST or BOOKS: the latest bar's
        self.live = True  # the candle stream, as of the last push
        self._touch_for: float | None = None  # open of the bar the next snapshot's touch is the fill of
        self._touches: dict[float, tuple[float, float, float]] = {}
        self._builder = BarBuilder(instrument, timeframe_s)  # the fallback, fed all along
        self._held: tuple[MarketEvent, tuple[float, float]] | None = None  # its latest bar not handed

    @property
    def seen(self) -> float | None:
        """Venue time of the latest snapshot pushed (None before any)."""
        return self._builder.seen

    def seed_after(self, bar_end: float) -> None:
        """Bars ending at or before ``bar_end`` were already handed over (warm-up history)."""
        if self.last_end is None or bar_end > self.last_end:
            self.last_end = bar_end

    def push(self, snap: MarketEvent, candles: list[Candle], live: bool = True, via: str | None = None
             ) -> list[MarketEvent]:
        """``via``: how the venue's latest candle came ("rest": a REST history read)."""
        if self._touch_for is not None:  # an order decided on the last bar met this book
            self._touches = {self._touch_for: (snap.bid, snap.ask, snap.ts)}
            self._touch_for = None
        built = self._builder.push(snap)
        if built is not None:
            rng = self._builder.closed_range
            assert rng is not None
            self._held = (built, (rng[0], rng[1]))
        self.live = live
        self.ranges = {}
        out = []
        for c in candles:
            end = c.ts + self.tf
            if self.last_end is not None and end <= self.last_end:
                continue  # handed already (a warm-up bar, a built one, or the venue repeating itself)
            self._hand(end, c.ts, (c.high, c.low))
            out.append(MarketEvent(end, self.instrument, c.close, c.close, snap.bid_sizes, snap.ask_sizes, c.volume,
                                   snap.extra or NO_EXTRA, c.open, snap.bid_prices, snap.ask_prices))
        if out:
            self.source = REST if via == "rest" else CANDLES
        if not live and self._held is not None:
            bar, (high, low) = self._held
            self._held = None
            if self.last_end is None or bar.ts > self.last_end:
                self._hand(bar.ts, bar.ts - self.tf, (high, low))
                out.append(bar)
                self.source = BOOKS
        if out:
            self._touch_for = self.last_end  # the open of the next bar
        return out

    def _hand(self, end: float, start: float, high_low: tuple[float, float]) -> None:
        self.last_end = end
        touch = self._touches.pop(start, None)
        self.ranges[end] = (*high_low, *touch) if touch else high_low
