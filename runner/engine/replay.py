"""`runner replay`: a recorded session through the paper path (the runtime, not the backtest loop).

The session's variants are deployed into a fresh deployment under ``state/replays/`` and run
by the same :class:`Runtime` as `runner run` (order path, lifecycle, guards, audits of the
loop), against :class:`RecordedVenue`: it serves the recorded books (a recorded bar as two
snapshots, its open and its close, so the bar builder rebuilds the same bar) on the
recording's clock; an order that takes meets the NEXT recorded book of its instrument (as in
the backtest and on a sim with ``fill_latency: next_step``), resting orders each book that
trades through them. The replay is recorded like any session, so `runner parity` can compare it.
"""

from __future__ import annotations

import heapq
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runner.engine.backtest import backtest_instruments
from runner.engine.parity import venue_defers
from runner.engine.runtime import Runtime
from runner.errors import BadInputError
from runner.kinds.base import MarketEvent
from runner.ledger.store import Ledger, default_url
from runner.marketdata.readers import read_events
from runner.marketdata.recorder import resolve
from runner.spec.deployment_config import RunnerConfig, VenuesConfig
from runner.spec.load import parse_variant
from venues.base import BookSnapshot, OrderReport
from venues.sim.replay import ReplayVenue

UNLIMITED = 1e18


def snapshots(ev: MarketEvent, timeframe_s: int | None) -> list[MarketEvent]:
    """A recorded bar becomes its open, the touch an order sent at the open met (where recorded)
    and its close (with the book recorded at it), inside the bar; other events stay as they are."""
    if timeframe_s and ev.open > 0:
        t0 = ev.ts - timeframe_s
        x = ev.extra
        out = [MarketEvent(t0, ev.instrument, ev.open, ev.open, volume=0.0, extra=x)]
        if "fill_ask" in x:
            out.append(MarketEvent(x.get("fill_ts", t0 + min(0.001, timeframe_s / 10)), ev.instrument, x["fill_bid"], x["fill_ask"],
                                   volume=0.0, extra=x))
        at = ev.ts - min(0.001, timeframe_s / 10)
        if ev.bid_prices and ev.ask_prices:  # the book recorded at the close: the replayed bar carries it
            out.append(MarketEvent(at, ev.instrument, ev.bid_prices[0], ev.ask_prices[0], ev.bid_sizes, ev.ask_sizes,
                                   ev.volume, x, 0.0, ev.bid_prices, ev.ask_prices))
        else:
            out.append(MarketEvent(at, ev.instrument, ev.bid, ev.ask, volume=ev.volume, extra=x))
        return out
    return [ev]


class RecordedVenue(ReplayVenue):
    """The recorded books on the recording's clock; taking orders meet the next one."""

    def __init__(self, account: str, instruments: dict[str, Any], events: Iterator[MarketEvent],
                 defer: bool = True) -> None:
        super().__init__(account, instruments, defer=defer)
        self._events = events
        self._next_ev: MarketEvent | None = next(events, None)
        self._current: dict[str, MarketEvent] = {}
        self.now = self._next_ev.ts if self._next_ev else 0.0

    def catch_up(self) -> list[OrderReport]:
        return self.take_reports()

    def next_time(self) -> float | None:
        return self._next_ev.ts if self._next_ev else None

    def advance(self) -> None:
        """Move to the next recorded moment: every event at that time becomes the current book."""
        if self._next_ev is None:
            return
        self.now = t = self._next_ev.ts
        while self._next_ev is not None and self._next_ev.ts == t:
            ev = self._next_ev
            self._current[ev.instrument] = ev
            self.set_market(ev.ts, ev.instrument, ev.bid, ev.ask, ev.bid_sizes, ev.ask_sizes, ev.extra, 0.0,
                            ev.bid_prices, ev.ask_prices)
            self._next_ev = next(self._events, None)

    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        ev = self._current.get(instrument)
        if ev is None:
            from runner.errors import TransientError

            raise TransientError(f"no recorded book for {instrument} yet")
        bids = list(zip(ev.bid_prices or (ev.bid,), ev.bid_sizes or (UNLIMITED,), strict=False))[:depth]
        asks = list(zip(ev.ask_prices or (ev.ask,), ev.ask_sizes or (UNLIMITED,), strict=False))[:depth]
        return BookSnapshot(instrument, self.now, bids, asks, ev.volume, dict(ev.extra))


def replay(session_dir: Path, home: Path, venues: VenuesConfig | None, speed: float | None = None
           ) -> dict[str, Any]:
    meta = json.loads((session_dir / "session.json").read_text())
    if not meta["variants"]:
        raise BadInputError(f"{session_dir}: the session recorded no variant")
    out = home / "state" / "replays" / f"{meta['session']}-{int(time.time())}"
    (out / "strategies.d").mkdir(parents=True)
    if (home / "runbook").is_dir():
        shutil.copytree(home / "runbook", out / "runbook")
    streams_by_account: dict[str, list[Iterator[MarketEvent]]] = {}
    instruments: dict[str, dict[str, Any]] = {}
    for vid, v in meta["variants"].items():
        (out / "strategies.d" / f"{vid}.yaml").write_text(v["yaml"])
        loaded = parse_variant(v["yaml"], Path(f"{vid}.yaml"), venues)
        tf = loaded.stream.timeframe_s
        for sym, name in v["files"].items():
            path = resolve(session_dir, name)
            if path.exists():
                evs = (s for ev in read_events(path, sym, tf) for s in snapshots(ev, tf))
                streams_by_account.setdefault(v["account"], []).append(evs)
        instruments.setdefault(v["account"], {}).update(backtest_instruments(loaded, venues, home))
    if len(streams_by_account) != 1:
        raise BadInputError(f"{session_dir}: replay runs one account's recording at a time")
    account, streams = next(iter(streams_by_account.items()))
    venue = RecordedVenue(account, instruments[account], heapq.merge(*streams, key=lambda e: e.ts),
                          defer=venue_defers(venues, account))  # as the recorded account did
    ledger = Ledger(default_url(out))
    rt = Runtime(out, ledger, venues or VenuesConfig(accounts={}), RunnerConfig(), clock=lambda: venue.now)
    rt.adapters[account] = venue
    started = time.perf_counter()
    steps = 0
    try:
        rt.start()
        while venue.next_time() is not None:
            before = venue.now
            venue.advance()
            if speed and steps:
                time.sleep(max(0.0, (venue.now - before) / speed))
            rt.step()
            steps += 1
    finally:
        rt.stop()
    fills = ledger.fills(limit=None)
    result = {"session": meta["session"], "replay": str(out), "steps": steps,
              "seconds": time.perf_counter() - started,
              "variants": [{"id": vid, "fills": sum(1 for f in fills if f.variant == vid),
                            "state": (st.state if (st := ledger.state(vid)) else None)}
                           for vid in sorted(meta["variants"])]}
    ledger.close()
    return result
