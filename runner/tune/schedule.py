"""The scheduled tune (opt-in, ``tune:`` in runner.yaml): a bounded sweep per named variant on
its recent recording; a winner is written to ``candidates/`` and listed in the digest.

It never deploys: the candidate waits for a person to move it into ``strategies.d/``. It may
only vary the params its grid names (the grid is checked like ``runner sweep --grid``: never
risk limits, venue, mode or live gates). Each tune runs in a child process, so the runner's
trading loop keeps its thread and its core; the scheduler's own thread only checks the cron
(wall clock, UTC) and collects outcomes. A stop terminates a tune still running.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.errors import BadInputError, SpecError

log = logging.getLogger("runner.tune")


def latest_recording(home: Path, vid: str, lookback_days: float, now: float | None = None
                     ) -> tuple[str, list[tuple[str, Path]]] | None:
    """The newest session (started within ``lookback_days``) that recorded ``vid``: (session, data)."""
    from runner.marketdata.recorder import resolve

    root = home / "state" / "recordings"
    if not root.is_dir():
        return None
    cutoff = (now if now is not None else time.time()) - lookback_days * 86400
    for d in sorted((p for p in root.iterdir() if (p / "session.json").is_file()), reverse=True):
        try:
            meta = json.loads((d / "session.json").read_text())
        except (OSError, ValueError):
            continue
        v = (meta.get("variants") or {}).get(vid)
        if not v or float(meta.get("started") or 0) < cutoff:
            continue
        data = [(sym, resolve(d, name)) for sym, name in (v.get("files") or {}).items()]
        if data and all(p.exists() for _, p in data):
            return d.name, data
    return None


def where(home: Path, loc: tuple[str, ...]) -> str:
    """``runner.yaml:LINE`` of a tune key, for errors that name what and where."""
    from runner.spec.yamlload import load_yaml

    path = home / "runner.yaml"
    try:
        return f"{path}:{load_yaml(path).line_of(loc)}"
    except (SpecError, OSError):
        return str(path)


def plan(home: Path, vid: str):  # type: ignore[no-untyped-def]
    """(loaded variant, grid, tune spec, venues, gate) for ``vid``; BadInputError names what and where."""
    from runner.kinds.registry import get_kind
    from runner.spec.deployment_config import load_runner_config, load_venues
    from runner.spec.load import load_variant
    from runner.tune import grid as gr

    config, venues = load_runner_config(home), load_venues(home)
    spec = config.tune.variants[vid]
    path = home / "strategies.d" / f"{vid}.yaml"
    if not path.is_file():
        raise BadInputError(f"{where(home, ('tune', 'variants', vid))}: tune.variants: no {vid}.yaml in strategies.d")
    try:
        loaded = load_variant(path, venues)
    except SpecError as exc:
        raise BadInputError(f"tune {vid}: {exc}") from None
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    axes = [(k, v, where(home, ("tune", "variants", vid, "grid", k))) for k, v in spec.grid.items()]
    total = 1
    for _, values, _ in axes:
        total *= max(1, len(values))
    n = spec.random or (config.tune.max_cells if total > config.tune.max_cells else None)
    grid = gr.build(axes, kind.Params, loaded.spec.params, loaded.spec.kind, n, spec.seed)
    return loaded, grid, config.tune, venues, config.promotion_gate


def run_tune(home: Path, vid: str, now: float | None = None, ledger_url: str | None = None) -> dict[str, Any]:
    """One variant's tune, start to end (what the child process runs); its outcome as a record."""
    from runner.tune.candidate_file import write_candidate
    from runner.tune.executor import executor_for
    from runner.tune.sweep import params_text, run_sweep

    loaded, grid, tune, venues, gate = plan(home, vid)
    found = latest_recording(home, vid, tune.lookback_days, now)
    if found is None:
        return {"variant": vid, "outcome": "no_data",
                "detail": f"no recording of {vid} in the last {tune.lookback_days:g} days"}
    session, data = found
    result = run_sweep(loaded, data, grid, gate, venues, split=tune.split, executor=executor_for(tune.workers))
    out: dict[str, Any] = {"variant": vid, "session": session, "cells": len(grid.cells), "seconds": result.seconds}
    if result.winner is None:
        best = result.ranked[0] if result.ranked else None
        why = "; ".join(f["detail"] for f in best.verdict.get("fails", [])) if best else ""
        return {**out, "outcome": "no_winner", "detail": f"no candidate passes the gate (best: {why})"}
    doc = result.as_json()
    path = write_candidate(home, loaded, result.winner.params,
                           {"sweep": {"session": session, "method": doc["method"], "gate": doc["gate"],
                                      "base_out_of_sample": doc["base"]["out_of_sample"],
                                      "winner_out_of_sample": doc["winner"]["out_of_sample"]},
                            "scheduled": True}, venues, header=f"scheduled tune on recording {session}",
                           ledger_url=ledger_url)
    return {**out, "outcome": "candidate", "candidate": path.stem, "path": str(path),
            "detail": f"{path.stem}: {params_text(result.winner.params)}"}


def _child(home: str, vid: str, out: str, ledger_url: str | None) -> None:
    """The child process: run the tune, write its outcome where the scheduler will read it."""
    try:
        rec = run_tune(Path(home), vid, ledger_url=ledger_url)
    except (BadInputError, SpecError) as exc:
        rec = {"variant": vid, "outcome": "error", "detail": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the outcome must be written whatever failed
        rec = {"variant": vid, "outcome": "error", "detail": f"{type(exc).__name__}: {exc}"}
    rec["finished"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    Path(out).write_text(json.dumps(rec, default=str))


class TuneScheduler:
    """Checks ``tune.cron`` once a second on its own thread; one child process per due variant
    (at most one at a time per variant); prints each outcome through ``say``."""

    def __init__(self, home: Path, cron: str, variants: list[str], say,  # type: ignore[no-untyped-def]
                 ledger_url: str | None = None) -> None:
        from runner.audit.schedule import cron_trigger

        self.home, self.variants, self.say, self.ledger_url = home, variants, say, ledger_url
        self.trigger = cron_trigger(cron)
        self.next = self.trigger.get_next_fire_time(None, datetime.now(UTC))
        self.running: dict[str, tuple[multiprocessing.process.BaseProcess, Path]] = {}
        self.outcomes: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tune-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the schedule keeps going; the log has it
                log.exception("scheduled tune failed")

    def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        self._collect()
        if self.next is not None and now >= self.next:
            for vid in self.variants:
                if vid not in self.running:
                    self._launch(vid)
            self.next = self.trigger.get_next_fire_time(self.next, now + timedelta(microseconds=1))  # missed runs coalesce

    def _launch(self, vid: str) -> None:
        folder = self.home / "state" / "tune"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{vid}.json"
        proc = multiprocessing.get_context("forkserver").Process(
            target=_child, args=(str(self.home), vid, str(out), self.ledger_url), name=f"tune-{vid}", daemon=False)
        proc.start()
        self.running[vid] = (proc, out)
        self.say(f"tune {vid}: sweep started (pid {proc.pid})")

    def _collect(self) -> None:
        for vid, (proc, out) in list(self.running.items()):
            if proc.is_alive():
                continue
            proc.join()
            del self.running[vid]
            try:
                rec = json.loads(out.read_text())
            except (OSError, ValueError):
                rec = {"variant": vid, "outcome": "error", "detail": f"the tune process exited ({proc.exitcode})"}
            self.outcomes.append(rec)
            tail = ", in the digest; not deployed" if rec["outcome"] == "candidate" else ""
            self.say(f"tune {vid}: {rec['outcome'].replace('_', ' ')}: {rec.get('detail', '')}{tail}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for proc, _ in self.running.values():
            proc.terminate()
            proc.join(timeout=5)
        self.running.clear()


def start_tune_scheduler(rt):  # type: ignore[no-untyped-def]
    """Attach the scheduled tune to a running runner (nothing when ``tune.cron`` is unset)."""
    tune = rt.config.tune
    if not tune.cron or not tune.variants:
        return lambda: None
    try:
        sched = TuneScheduler(rt.home, tune.cron, list(tune.variants), rt.reporter.info, rt.ledger.url)
    except ValueError as exc:
        rt.reporter.error(f"{where(rt.home, ('tune', 'cron'))}: tune.cron: bad cron expression {tune.cron!r}: {exc}")
        return lambda: None
    for vid in list(sched.variants):  # a grid it may not run is said once, at start, with its line
        try:
            plan(rt.home, vid)
        except (BadInputError, SpecError) as exc:
            rt.reporter.error(f"tune {vid} disabled: {exc}")
            sched.variants.remove(vid)
    sched.start()
    return sched.stop
