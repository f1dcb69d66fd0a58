"""A parameter sweep: every cell of a grid backtested in and out of sample, judged by the gate.

Each cell is run by ``runner backtest``'s own engine (same fill model, fees and risk code) into
an in-memory ledger that lives only as long as the run: a sweep keeps the metrics, never its
candidates' fills (the deployment's ledgers do not grow by a sweep). The current parameters
are run the same way; each candidate is judged against them out of sample. Jobs (one per cell
and period) go to an :class:`~runner.tune.executor.Executor`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.engine.backtest import run_backtest
from runner.kinds.registry import get_kind
from runner.ledger.store import Ledger
from runner.spec.deployment_config import VenuesConfig
from runner.spec.load import LoadedVariant
from runner.spec.tune_config import PromotionGateSpec
from runner.tune import periods as pr
from runner.tune.executor import Executor, InlineExecutor
from runner.tune.gate import judge
from runner.tune.grid import Grid


def with_params(loaded: LoadedVariant, cell: Mapping[str, Any]) -> LoadedVariant:
    """The variant with ``cell`` over its params (validated by the kind), all else unchanged."""
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    raw = {**loaded.spec.params, **cell}
    return dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"params": raw}),
                               params=kind.Params.model_validate(raw))


@dataclass(frozen=True)
class Job:
    loaded: LoadedVariant
    data: list[tuple[str, Path]]
    venues: VenuesConfig | None
    capital: float
    period: pr.Period


def run_job(job: Job) -> dict[str, Any]:
    """One backtest of one period, in a ledger that is gone when it returns: its metrics only."""
    kind = get_kind(job.loaded.spec.kind)
    assert kind is not None
    keep = max(1000, 4 * kind(job.loaded.params, job.loaded.spec.instruments).history_needed * len(job.data))
    ledger = Ledger("sqlite://")
    try:
        r = run_backtest(job.loaded, job.data, ledger, job.venues, job.capital,
                         seed_until=job.period.seed_until, clip=job.period.clip(keep))
    finally:
        ledger.close()
    return {"metrics": r.metrics, "events": r.bars, "fills": r.fills, "skips": r.skips}


@dataclass
class Candidate:
    params: dict[str, Any]
    current: bool = False
    folds: list[dict[str, Any]] = field(default_factory=list)  # per fold: in_sample, out_of_sample metrics
    in_sample: dict[str, Any] = field(default_factory=dict)
    out_of_sample: dict[str, Any] = field(default_factory=dict)
    verdict: dict[str, Any] = field(default_factory=dict)
    passes: bool = False

    def as_json(self, rank: int | None) -> dict[str, Any]:
        return {"rank": rank, "params": self.params, "current": self.current, "metrics": self.out_of_sample,
                "in_sample": self.in_sample, "out_of_sample": self.out_of_sample, "passes_gate": self.passes,
                "gate": self.verdict, **({"folds": self.folds} if len(self.folds) > 1 else {})}


@dataclass
class SweepResult:
    variant: str
    base: Candidate
    ranked: list[Candidate]
    winner: Candidate | None
    grid: Grid
    method: dict[str, Any]
    gate: PromotionGateSpec
    workers: int
    seconds: float
    jobs: int
    written: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "base": {"variant": self.variant, **self.base.as_json(None)},
            "candidates": [c.as_json(i + 1) for i, c in enumerate(self.ranked)],
            "winner": None if self.winner is None else {"params": self.winner.params, "written": self.written,
                                                        "out_of_sample": self.winner.out_of_sample},
            "grid": {a.name: list(a.values) for a in self.grid.axes}, "cells": len(self.grid.cells),
            "grid_cells": self.grid.total, "skipped": self.grid.skipped, "method": self.method,
            "gate": self.gate.model_dump(), "workers": self.workers, "jobs": self.jobs, "seconds": self.seconds,
        }


def _sharpe_key(c: Candidate) -> tuple[int, float, float]:
    oos = c.out_of_sample
    s = oos.get("sharpe")
    return (0 if c.passes else 1, -(s if s is not None else float("-inf")), -float(oos.get("total_return") or 0.0))


def run_sweep(loaded: LoadedVariant, data: list[tuple[str, Path]], grid: Grid, gate: PromotionGateSpec,
              venues: VenuesConfig | None = None, *, capital: float = 100_000.0, split: float | None = 0.7,
              walk_forward: int | None = None, executor: Executor | None = None) -> SweepResult:
    """Backtest the current params and every cell, per period; rank; pick the best that passes."""
    t0 = time.perf_counter()
    executor = executor or InlineExecutor()
    first, last, events = pr.span(loaded, data)
    if walk_forward:
        folds = pr.walk_forward(first, last, walk_forward)
        method: dict[str, Any] = {"walk_forward": walk_forward}
    else:
        folds = pr.split(first, last, split or 0.7)
        method = {"split": split or 0.7}
    method.update(events=events, first_ts=first, last_ts=last,
                  folds=[{"fold": i.fold, "in_sample": [i.start or first, i.end], "out_of_sample": [o.start, o.end or last]}
                         for i, o in folds])
    base_params = {a.name: getattr(loaded.params, a.name) for a in grid.axes}
    base = Candidate(_plain(base_params), current=True)
    cands: list[Candidate] = []
    for cell in grid.cells:
        cand = with_params(loaded, cell)
        is_base = cand.params == loaded.params
        cands.append(base if is_base else Candidate(_plain(cell)))
    everyone = [base] + [c for c in cands if c is not base]
    jobs: list[Job] = []
    owners: list[tuple[Candidate, int, str]] = []
    for c in everyone:
        lv = loaded if c is base else with_params(loaded, c.params)
        for n, (p_in, p_out) in enumerate(folds):
            for period in (p_in, p_out):
                jobs.append(Job(lv, data, venues, capital, period))
                owners.append((c, n, period.sample))
    for c in everyone:
        c.folds = [{} for _ in folds]
    for i, out in executor.run(run_job, jobs):
        c, n, sample = owners[i]
        c.folds[n][sample] = {**out["metrics"], "events": out["events"], "fills": out["fills"]}
    for c in everyone:
        c.in_sample = pr.combine([f["in_sample"] for f in c.folds])
        c.out_of_sample = pr.combine([f["out_of_sample"] for f in c.folds])
    for c in everyone:
        if c is base:
            c.verdict = {"passes": False, "fails": [{"inequality": "current", "detail": "the current parameters"}]}
            continue
        v = judge(c.out_of_sample, base.out_of_sample, gate)
        c.verdict, c.passes = v.as_json(), v.passes
    ranked = sorted({id(c): c for c in cands}.values(), key=_sharpe_key)
    winner = next((c for c in ranked if c.passes), None)
    if len(folds) > 1:
        method["selection"] = selection(everyone, len(folds))
    return SweepResult(loaded.id, base, ranked, winner, grid, method, gate, executor.workers,
                       time.perf_counter() - t0, len(jobs))


def selection(everyone: Sequence[Candidate], n: int) -> list[dict[str, Any]]:
    """Walk-forward as a procedure: in each fold, the cell best in sample, and how it did on the
    next part, unseen. A pick that keeps changing, or does worse out of sample than the current
    params, says the grid is fitting noise."""
    out = []
    for i in range(n):
        def score(c: Candidate, i: int = i) -> tuple[float, float]:
            m = c.folds[i]["in_sample"]
            return (m["sharpe"] if m.get("sharpe") is not None else float("-inf"), float(m["total_return"]))

        best = max(everyone, key=score)
        oos = best.folds[i]["out_of_sample"]
        out.append({"fold": i + 1, "params": best.params, "current": best.current,
                    "in_sample_sharpe": best.folds[i]["in_sample"].get("sharpe"),
                    "out_of_sample": {k: oos.get(k) for k in ("sharpe", "total_return", "trades", "max_drawdown")}})
    return out


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-friendly values (Decimal as float, tuples as lists) for the report."""
    out = {}
    for k, v in params.items():
        if isinstance(v, tuple):
            v = list(v)
        elif hasattr(v, "as_tuple"):  # Decimal
            v = float(v)
        out[k] = v
    return out


def params_text(params: Mapping[str, Any], keys: Sequence[str] | None = None) -> str:
    return " ".join(f"{k}={params[k]:g}" if isinstance(params[k], float) else f"{k}={params[k]}"
                    for k in (keys or list(params)))
