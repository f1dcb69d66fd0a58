"""Each running variant's market-data stream: warm-up from venue history, then live events.

The runtime hands every venue snapshot to :meth:`EngineStreams.dispatch`; each engine gets
the event of the stream its YAML declares (see ``runner.marketdata.feed``). At start a variant
on bars with ``warmup: venue`` is pre-seeded from the venue's candles (its strategy sees them
as it would see live bars, and nothing is traded on them), so it is warm on its first live bar.
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.engine.variant import VariantEngine
from runner.errors import RunnerError
from runner.marketdata.feed import Feed, StreamKey, snapshot_event, stream_key
from venues.base import BookSnapshot


class EngineStreams:
    def __init__(self) -> None:
        self.feed = Feed()
        self.keys: dict[str, StreamKey] = {}
        self.seeded: dict[str, tuple[int, int]] = {}  # variant -> (bars seeded, bars needed)

    def attach(self, eng: VariantEngine) -> str | None:
        """Register ``eng``'s stream and warm it from the venue's history; a note on what happened."""
        s = eng.loaded.stream
        key = self.keys[eng.id] = stream_key(s)
        need = eng.strategy.history_needed
        if key[0] != "bars" or s.warmup != "venue" or need <= 0:
            return None
        got = 0
        for sym in eng.spec.instruments:
            try:
                events = self.feed.warm_up(eng.venue.account, sym, key[1], need, eng.venue.candles)
            except RunnerError as exc:
                return f"no venue history for {sym} ({exc}): warming on live bars"
            for ev in events:
                eng.strategy.on_event(ev, {})  # history: the strategy's windows fill, nothing is traded
            got = len(events) if not got else min(got, len(events))
        self.seeded[eng.id] = (got, need)
        return f"pre-seeded {got} of {need} bars from {eng.venue.account}'s history"

    def detach(self, variant: str) -> None:
        self.keys.pop(variant, None)
        self.seeded.pop(variant, None)

    def dispatch(self, account: str, book: BookSnapshot, engines: Sequence[VariantEngine]) -> None:
        ev = snapshot_event(book)
        keys = {self.keys[e.id] for e in engines if e.id in self.keys}
        self.feed.update(account, ev, list(keys))
        for eng in engines:
            key = self.keys.get(eng.id)
            out = self.feed.event(account, ev.instrument, key) if key is not None else ev
            if out is not None:
                eng.on_event(out)
