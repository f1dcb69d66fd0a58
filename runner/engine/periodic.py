"""The runtime's timed work on the control part: skips, guards, heartbeat, equity, summary.

Each job has its own period (skip counts every 5 s, guards and the heartbeat every second,
equity and marks at ``equity_interval_s``, the console summary every 15 s). The heartbeat
second also re-reads venues.yaml, renews leases, flushes the recording, adopts unowned
deployments and publishes each account's stream state. Apart from the step so the cadence of
everything that is not trading reads in one place.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from runner.engine.marks import engine_marks
from runner.ledger.marks import record_marks
from runner.ledger.models import MAIN_RUN
from runner.ledger.streams import prune_events
from runner.ledger.types import from_epoch
from runner.lifecycle import State

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime


class Periodic:
    """What the control part does on a clock rather than every step."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # job -> when it last ran (a test sets "heartbeat" to 0 to force one)
        self.last = {"status": 0.0, "skips": 0.0, "equity": 0.0, "heartbeat": 0.0, "summary": 0.0, "guards": 0.0}

    def tick(self, now: float) -> None:
        rt, last = self.rt, self.last
        if now - last["skips"] >= 5.0:
            last["skips"] = now
            for eng in rt.of(None):
                rt.sink.skips(MAIN_RUN, eng.id, eng.take_skips())
        if rt.guards.enabled and now - last["guards"] >= 1.0:
            last["guards"] = now
            rt.gates.apply_guards(now)
        if now - last["heartbeat"] >= 1.0:
            last["heartbeat"] = now
            rt.gates.reload_venues()
            rt.renew_leases()
            rt.streams.flush_recording()  # a recording is readable (and survives a kill) within a second
            rt.adoption.adopt_unowned()
            self.publish_streams()
            rt.warming.write({e.id: (rt.streams.seen.get(e.id, 0), e.strategy.history_needed)
                              for e in list(rt.engines.values()) if e.state is State.WARMING})
            rt.ledger.heartbeat(rt.runner_id, socket.gethostname(), os.getpid(),
                                from_epoch(rt.market_ts) if rt.market_ts else None)
        if now - last["equity"] >= rt.config.equity_interval_s:
            last["equity"] = now
            rows = []
            for eng in rt.of(None):
                r, u = eng.realized(), eng.unrealized()
                rows.append(dict(run_id=MAIN_RUN, variant=eng.id, ts=from_epoch(now), equity=r + u, realized=r, unrealized=u))
            rt.sink.equity(rows)
            record_marks(rt.ledger, engine_marks(rt.of(None), from_epoch(now)))
        if now - last["summary"] >= 15.0:
            last["summary"] = now
            rt.reporter.summary([e for e in rt.of(None) if e.state is not State.RETIRED])

    def publish_streams(self) -> None:
        """Each account's stream state and budget use (reads only: no venue call)."""
        rt = self.rt
        if rt.due("*", "prune stream events", rt.clock(), 3600.0):
            prune_events(rt.ledger)  # a week is kept
        stalled = {a: w.stalled_s() for a, w in rt.workers.workers.items()} if rt.workers else {}
        rt.board.publish(rt.ledger, rt.runner_id,
                         {a: {**ad.stream_status(), "bars": rt.streams.bar_sources(a, rt.of(a))}
                          for a, ad in list(rt.adapters.items())}, stalled)
