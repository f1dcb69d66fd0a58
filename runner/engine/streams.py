"""Each running variant's market-data stream: warm-up from venue history, then live events.

The runtime hands every venue snapshot to :meth:`EngineStreams.dispatch`; each engine gets
the event of the stream its YAML declares (see ``runner.marketdata.feed``). At start a variant
on bars with ``warmup: venue`` is pre-seeded from the venue's candles (its strategy sees them
as it would see live bars, and nothing is traded on them), so it is warm on its first live bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from runner.engine.containment import contained
from runner.engine.variant import VariantEngine
from runner.errors import RunnerError
from runner.lifecycle import State
from runner.marketdata.feed import Feed, StreamKey, depth_cut, snapshot_event, stream_key
from runner.marketdata.recorder import Recorder, stream_file
from venues.base import BookSnapshot


class EngineStreams:
    def __init__(self, recorder: Recorder | None = None) -> None:
        self.feed = Feed()
        self.keys: dict[str, StreamKey] = {}
        self.bar_depth: dict[str, int] = {}  # bars variants: the book levels each bar carries (book_depth)
        self.seeded: dict[str, tuple[int, int]] = {}  # variant -> (bars seeded, bars needed)
        self.recorder = recorder
        self._binary: dict[str, bool] = {}
        self._history: dict[str, dict[str, list]] = {}  # type: ignore[type-arg]  # warm-up bars, until recorded
        self.fresh: set[str] = set()  # variants that just became active: they see the current book once
        self.seen: dict[str, int] = {}  # events each variant's strategy was handed (history included)
        self.warm_end: dict[str, float] = {}  # the last warm-up bar each variant was handed
        self._handed: dict[str, float] = {}  # venue time of the latest event each variant was handed
        self._live_from: set[tuple[str, str]] = set()  # (variant, instrument) with a first live event recorded
        # account threads dispatch at once: the shared bar builder and the recording are used
        # under this lock; each strategy decides outside it (its orders go to its own venue)
        self._lock = threading.RLock()

    def attach(self, eng: VariantEngine) -> str | None:
        """Register ``eng``'s stream and warm it from the venue's history; a note on what happened."""
        s = eng.loaded.stream
        key = self.keys[eng.id] = stream_key(s)
        if key[0] == "bars":
            self.bar_depth[eng.id] = s.book_depth
        binary = self._binary[eng.id] = eng.strategy.binary
        rec = self.recorder
        note = self._warm_up(eng, key) if key[0] == "bars" and s.warmup == "venue" else None
        if rec is not None:
            with self._lock:
                self._record_start(rec, eng, key, binary)
        return note

    def _record_start(self, rec: Recorder, eng: VariantEngine, key: StreamKey, binary: bool) -> None:
        """The variant's warm-up bars and its file in the recording."""
        account = eng.venue.account
        warm_until = None
        files = {sym: self._file(eng.id, account, sym) for sym in eng.spec.instruments}
        for sym, events in self._history.pop(eng.id, {}).items():
            for ev in events:
                rec.event(files[sym], key, ev, binary, self._range(account, sym, key, ev.ts))
                warm_until = ev.ts if warm_until is None else max(warm_until, ev.ts)
        rec.variant(eng.id, eng.loaded.yaml_text, account, files, warm_until)
        self._live_from = {k for k in self._live_from if k[0] != eng.id}
        eng.on_decision = lambda ev, d, views, vid=eng.id: self._decided(rec, vid, ev, d, views)  # type: ignore[misc]

    def _file(self, vid: str, account: str, sym: str) -> str:
        return stream_file(account, sym, self.keys[vid], self._binary[vid], self.bar_depth.get(vid, 0))

    def flush_recording(self) -> None:
        """Make the recording readable now (the account threads may be writing it)."""
        if self.recorder is not None:
            with self._lock:
                self.recorder.flush()

    def _warm_up(self, eng: VariantEngine, key: StreamKey) -> str | None:
        need = eng.strategy.history_needed
        if need <= 0:
            return None
        got = 0
        history: dict[str, list] = {}  # type: ignore[type-arg]
        for sym in eng.spec.instruments:
            try:
                events = self.feed.warm_up(eng.venue.account, sym, key[1], need, eng.venue.candles)
            except RunnerError as exc:
                return f"no venue history for {sym} ({exc}): warming on live bars"
            for ev in events:
                eng.strategy.on_event(ev, {})  # history: the strategy's windows fill, nothing is traded
            history[sym] = events
            if events:
                self.warm_end[eng.id] = max(self.warm_end.get(eng.id, events[-1].ts), events[-1].ts)
            got = len(events) if not got else min(got, len(events))
        self._history[eng.id] = history
        self.seeded[eng.id] = (got, need)
        self.seen[eng.id] = got
        return f"pre-seeded {got} of {need} bars from {eng.venue.account}'s history"

    def _range(self, account: str, sym: str, key: StreamKey, ts: float) -> tuple[float, ...] | None:
        return self.feed.bar_range(account, sym, key[1], ts) if key[0] == "bars" else None

    def bar_sources(self, account: str, engines: Sequence[VariantEngine]) -> list[dict]:  # type: ignore[type-arg]
        """Where ``account``'s bars come from now (``Feed.sources``), for the status row: those of
        its running ``engines`` on bars (a retired variant's bars stop; they are not late)."""
        wanted = {(sym, key[1]) for e in engines if e.state is not State.RETIRED
                  and (key := self.keys.get(e.id)) is not None and key[0] == "bars" for sym in e.spec.instruments}
        with self._lock:
            return [s for s in self.feed.sources(account) if (s["instrument"], s["timeframe_s"]) in wanted]

    def detach(self, variant: str) -> None:
        self.keys.pop(variant, None)
        self.bar_depth.pop(variant, None)
        self.seeded.pop(variant, None)
        self.seen.pop(variant, None)
        self.warm_end.pop(variant, None)
        self._handed.pop(variant, None)

    def _decided(self, rec: Recorder, vid: str, ev, d, views) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            rec.decision(vid, ev, d, views)

    def dispatch(self, account: str, book: BookSnapshot, engines: Sequence[VariantEngine],
                 on_warm: Callable[[VariantEngine], None] | None = None) -> None:
        """Hand ``book`` to each engine as its stream's events. ``on_warm``: a warming variant whose
        strategy this event made warm turns active at once, before its next event, as in a
        backtest (which checks after every event): with the check left to the housekeeping after
        the whole pass, the same moment's next event (a pair's other leg) was refused as warming
        where the backtest traded it."""
        ev = snapshot_event(book)
        keys = [k for k in {self.keys.get(e.id) for e in engines} if k is not None]
        # the venue's own closed candles where it streams the timeframe (else bars are built), asked
        # outside the lock: a REST resync of this account's candles must not hold up another account
        venue = engines[0].venue if engines else None
        fetched = self.feed.fetch_native(account, ev, keys, venue.closed_bars if venue else None,
                                         venue.candle_state if venue else None)
        with self._lock:
            handed = self._events(account, ev, engines, fetched)
        for eng, out in handed:
            contained(eng, f"market event {ev.instrument}", eng.on_event, out)  # its fault stays its own
            if on_warm is not None and eng.state is State.WARMING and eng.strategy.warm:
                on_warm(eng)

    def _events(self, account: str, ev, engines: Sequence[VariantEngine], fetched) -> list:  # type: ignore[no-untyped-def,type-arg]
        """What each engine is handed for ``ev`` (recorded as it is handed)."""
        keys = {self.keys[e.id] for e in engines if e.id in self.keys}
        self.feed.update(account, ev, list(keys), fetched=fetched)
        rec = self.recorder
        handed = []
        for eng in engines:
            key = self.keys.get(eng.id)
            outs = self.feed.events(account, ev.instrument, key) if key is not None else [ev]
            if eng.id in self.fresh and key is not None and key[0] != "bars" and (
                    outs or ev.ts > self._handed.get(eng.id, float("-inf"))):
                # The book that warmed it was skipped as `warming`; an unchanged book makes no
                # event, so without this a quiet market would never be looked at once active. A
                # book it was handed already (read again before the market moved) waits: an
                # event is handed (and recorded) once.
                self.fresh.discard(eng.id)
                outs = outs or [depth_cut(ev, key[1])]
            for out in outs:
                if key is not None and key[0] == "bars":
                    if out.ts <= self.warm_end.get(eng.id, -1.0):
                        continue  # a bar its warm-up history already gave it (another variant's source ran on)
                    out = depth_cut(out, self.bar_depth[eng.id])  # the book at the close: the levels it samples
                if rec is not None and key is not None:
                    rec.event(self._file(eng.id, account, ev.instrument), key, out,
                              self._binary[eng.id], self._range(account, ev.instrument, key, out.ts))
                self.seen[eng.id] = self.seen.get(eng.id, 0) + 1
                if rec is not None and (eng.id, out.instrument) not in self._live_from:
                    self._live_from.add((eng.id, out.instrument))
                    rec.live_from(eng.id, out.instrument, out.ts)
                self._handed[eng.id] = out.ts
                handed.append((eng, out))
        return handed
