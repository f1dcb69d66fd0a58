"""From venue snapshots to the events each variant consumes, the same in paper and live.

The runtime polls (or reads the streaming cache of) each instrument's book once per loop and
hands the snapshot here; a variant on ``bars`` gets each closed bar once, a variant on
``quotes`` an event when the top of book changed, one on ``books`` when the levels it samples
(``book_depth``) changed. A poll that shows nothing new hands nothing. Bar builders are shared
by the variants of one (account, instrument, timeframe), so they agree on every bar. Where the
venue streams candles of the timeframe (``native``: the adapter's ``closed_bars``), its closed
candles are the bars instead, with the book of the moment they are handed over, and bars built
from the books while its candle stream is down (``native``). :meth:`Feed.sources` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from runner.kinds.base import MarketEvent
from runner.marketdata.bars import BarBuilder
from runner.marketdata.native import BOOKS, CANDLES, NativeBars
from runner.spec.data import Stream
from venues.base import BookSnapshot, Candle

Native = Callable[[str, int, float, float | None], list[Candle] | None]  # the adapter's closed_bars
CandleState = Callable[[str, int], tuple[bool, str | None]]  # the adapter's candle_state: (live, via)
Fetched = tuple[list[Candle], bool, str | None]  # closed candles, the candle stream live, how they came
StreamKey = tuple[str, int]  # (bars, timeframe) | (quotes, 1) | (books, depth)
# An unchanged book is handed out again after this much venue time: a quiet market (a Kalshi book
# can sit still for minutes) must not starve a strategy's timed duties (an orphan leg's sweep, a
# time-stop). The repeat is an event like any other: recorded, so a backtest of the session sees it.
QUIET_REPEAT_S = 10.0


def stream_key(s: Stream) -> StreamKey:
    if s.kind == "bars":
        assert s.timeframe_s is not None
        return ("bars", s.timeframe_s)
    return (s.kind, 1 if s.kind == "quotes" else max(s.book_depth, 1))


def snapshot_event(book: BookSnapshot) -> MarketEvent:
    """A venue snapshot as one event, every level kept (prices and sizes)."""
    return MarketEvent(book.ts, book.instrument, book.bids[0][0], book.asks[0][0],
                       tuple(s for _, s in book.bids), tuple(s for _, s in book.asks), book.volume,
                       dict(book.extra), 0.0, tuple(p for p, _ in book.bids), tuple(p for p, _ in book.asks))


def depth_cut(ev: MarketEvent, depth: int) -> MarketEvent:
    """``ev`` with at most ``depth`` levels a side (the levels a ``books`` stream samples, or a
    bar carries from the book at its close)."""
    if len(ev.bid_sizes) <= depth and len(ev.ask_sizes) <= depth:
        return ev
    return MarketEvent(ev.ts, ev.instrument, ev.bid, ev.ask, ev.bid_sizes[:depth], ev.ask_sizes[:depth], ev.volume,
                       ev.extra, ev.open, ev.bid_prices[:depth], ev.ask_prices[:depth])


def candle_event(instrument: str, c: Candle, timeframe_s: int) -> MarketEvent:
    """A history candle as the bar event a backtest or the live builder would make (at its close)."""
    return MarketEvent(c.ts + timeframe_s, instrument, c.close, c.close, (), (), c.volume, open=c.open)


class Feed:
    def __init__(self) -> None:
        self._bars: dict[tuple[str, str, int], BarBuilder] = {}
        self._seen: dict[tuple[str, str, StreamKey], Any] = {}
        self._out: dict[tuple[str, str, StreamKey], MarketEvent | None] = {}
        self._bars_only: set[tuple[str, str, int]] = set()  # the venue has no candle of the timeframe
        self._emitted: dict[tuple[str, str, StreamKey], float] = {}  # venue time of the last event handed out
        self._candle_ranges: dict[tuple[str, str, int], dict[float, tuple[float, float]]] = {}  # warm-up (high, low)
        self._native: dict[tuple[str, str, int], NativeBars] = {}  # bars from the venue's candles
        self._native_out: dict[tuple[str, str, StreamKey], list[MarketEvent]] = {}

    def fetch_native(self, account: str, ev: MarketEvent, keys: Sequence[StreamKey], native: Native | None,
                     state: CandleState | None = None) -> dict[int, Fetched]:
        """The venue's closed candles for each bars timeframe it streams (asked once per instrument
        and timeframe whether it does), and ``state``'s word on its candle stream (without one:
        live). Called outside any shared lock: it may read REST history, and a slow venue must
        delay only its own account."""
        out: dict[int, Fetched] = {}
        if native is None:
            return out
        sym = ev.instrument
        for kind, n in keys:
            slot = (account, sym, n)
            if kind != "bars" or slot in self._bars_only:
                continue
            nb = self._native.get(slot)
            b = self._bars.get(slot)
            after = nb.last_end if nb is not None else b.last_closed if b is not None else None  # warm-up end
            got = native(sym, n, ev.ts, after)
            if got is None:
                if nb is None:
                    self._bars_only.add(slot)  # the venue has no candle of it: the builder owns it
                continue
            if nb is None:
                self._native[slot] = NativeBars(sym, n, after)
            out[n] = (got, *state(sym, n)) if state is not None else (got, True, None)
        return out

    def update(self, account: str, ev: MarketEvent, keys: Sequence[StreamKey], native: Native | None = None,
               fetched: dict[int, Fetched] | None = None) -> None:
        """Take one snapshot of ``ev.instrument``; :meth:`events` then says what each stream gets.
        ``fetched``: :meth:`fetch_native`'s answer, when the caller asked it outside its lock."""
        sym = ev.instrument
        if fetched is None:
            fetched = self.fetch_native(account, ev, keys, native)
        for key in keys:
            slot = (account, sym, key)
            kind, n = key
            if kind == "bars":
                nb = self._native.get((account, sym, n))
                if nb is not None:
                    self._native_out[slot] = nb.push(ev, *fetched.get(n, ([], nb.live, None)))
                    continue
                b = self._bars.get((account, sym, n))
                if b is None:
                    b = self._bars[(account, sym, n)] = BarBuilder(sym, n)
                self._out[slot] = b.push(ev)
                continue
            depth_ev = depth_cut(ev, n)
            sig = (depth_ev.bid, depth_ev.ask, depth_ev.bid_sizes, depth_ev.ask_sizes, depth_ev.bid_prices,
                   depth_ev.ask_prices, tuple(sorted(ev.extra.items())) if ev.extra else ())
            if self._seen.get(slot) == sig and ev.ts - self._emitted.get(slot, ev.ts) < QUIET_REPEAT_S:
                self._out[slot] = None  # nothing changed since the last poll: no event
            else:
                self._seen[slot] = sig
                self._emitted[slot] = ev.ts
                self._out[slot] = depth_ev

    def event(self, account: str, sym: str, key: StreamKey) -> MarketEvent | None:
        out = self._native_out.get((account, sym, key))
        if out is not None:
            return out[-1] if out else None
        return self._out.get((account, sym, key))

    def events(self, account: str, sym: str, key: StreamKey) -> list[MarketEvent]:
        """What ``key``'s stream gets from the last snapshot: several bars after a native resync."""
        out = self._native_out.get((account, sym, key))
        if out is not None:
            return out
        one = self._out.get((account, sym, key))
        return [] if one is None else [one]

    def sources(self, account: str) -> list[dict[str, Any]]:
        """Per instrument and timeframe of ``account``'s bars: where the latest bar came from
        (``candles``: the venue's candle stream, ``rest``: its REST candle history, ``books``: built
        from books), whether the venue has candles of it and their stream is live, and the end of
        the latest bar handed over and the latest snapshot seen (venue time; warm-up included)."""
        out = []
        for (acct, sym, tf), nb in list(self._native.items()):
            if acct == account:
                out.append({"instrument": sym, "timeframe_s": tf,
                            "source": nb.source or (CANDLES if nb.live else BOOKS),
                            "candles": "live" if nb.live else "down", "last_end": nb.last_end, "seen": nb.seen})
        for (acct, sym, tf), b in list(self._bars.items()):
            if acct == account and (acct, sym, tf) not in self._native:
                out.append({"instrument": sym, "timeframe_s": tf, "source": BOOKS,
                            "candles": None, "last_end": b.last_closed, "seen": b.seen})
        return sorted(out, key=lambda r: (r["instrument"], r["timeframe_s"]))

    def bar_range(self, account: str, sym: str, timeframe_s: int, end: float
                  ) -> tuple[float, ...] | None:
        """(high, low[, fill bid, fill ask, fill time]) of the bar of ``sym`` ending at ``end``: the
        one just closed (with the touch an order decided at its open met), or a warm-up candle's."""
        nb = self._native.get((account, sym, timeframe_s))
        if nb is not None and end in nb.ranges:
            return nb.ranges[end]
        b = self._bars.get((account, sym, timeframe_s))
        if b is not None and b.last_closed == end and b.closed_range is not None:
            return b.closed_range
        return self._candle_ranges.get((account, sym, timeframe_s), {}).get(end)

    def warm_up(self, account: str, sym: str, timeframe_s: int, need: int,
                candles: Callable[[str, int, int], list[Candle]]) -> list[MarketEvent]:
        """The venue's latest ``need`` closed bars as bar events; the builder continues after them."""
        if need <= 0:
            return []
        history = candles(sym, timeframe_s, need)
        events = [candle_event(sym, c, timeframe_s) for c in history]
        self._candle_ranges[(account, sym, timeframe_s)] = {c.ts + timeframe_s: (c.high, c.low) for c in history}
        if events:
            b = self._bars.setdefault((account, sym, timeframe_s), BarBuilder(sym, timeframe_s))
            if b.last_closed is None or b.last_closed < events[-1].ts:
                b.seed_after(events[-1].ts)  # a running native source is not moved: see EngineStreams
        return events
