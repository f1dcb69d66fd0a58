"""Sweep throughput: a 27-cell sweep of MR_v13 over seeded OU bars against 27 x one backtest.

Generates 1,000,000 one-minute OU bars (bench/ou_bars.py), times one backtest of MR_v13 over all
of them the way a sweep runs a cell (the same engine, an in-memory ledger), then the 27-cell
sweep (entry_z x window x exit_z, split 0.7, the current params among the cells) on every core,
and prints the wall time, the serial estimate (cells x single run) and the parallel efficiency
(serial estimate / wall / workers). Other processes on the machine lower it: say how busy it was.

    .venv/bin/python bench/sweep_bench.py [--bars N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.ou_bars import write_bars  # noqa: E402

GRID = ["entry_z=1.0,1.25,1.5", "window=30,60,90", "exit_z=0.25,0.5,0.75"]


def single_run(bars: Path) -> tuple[float, float]:
    from runner.engine.backtest import run_backtest
    from runner.ledger.store import Ledger
    from runner.spec.deployment_config import load_venues
    from runner.spec.load import load_variant

    lv = load_variant(REPO / "strategies.d" / "MR_v13.yaml")
    led = Ledger("sqlite://")
    t0, c0 = time.perf_counter(), time.process_time()
    run_backtest(lv, [(lv.spec.instruments[0], bars)], led, load_venues(REPO))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    led.close()
    return dt, cpu


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers, once shut down)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def sweep(bars: Path, workers: int) -> dict:  # type: ignore[type-arg]
    from runner.kinds.registry import get_kind
    from runner.spec.deployment_config import load_venues
    from runner.spec.load import load_variant
    from runner.spec.tune_config import PromotionGateSpec
    from runner.tune import grid as gr
    from runner.tune.executor import executor_for
    from runner.tune.sweep import run_sweep

    lv = load_variant(REPO / "strategies.d" / "MR_v13.yaml")
    kind = get_kind(lv.spec.kind)
    axes = [(*gr.parse_axis(g, g), g) for g in GRID]
    grid = gr.build(axes, kind.Params, lv.spec.params, lv.spec.kind)  # type: ignore[union-attr]
    t0, c0 = time.perf_counter(), _cpu()
    r = run_sweep(lv, [(lv.spec.instruments[0], bars)], grid, PromotionGateSpec(), load_venues(REPO),
                  executor=executor_for(workers))
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0, "cells": len(r.ranked), "jobs": r.jobs,
            "workers": r.workers,
            "winner": r.winner.params if r.winner else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=None, help="default: every core")
    a = ap.parse_args()
    work = Path(tempfile.gettempdir()) / "runner-bench"
    bars = write_bars(work / f"ou_{a.bars}.csv", a.bars)
    load0 = os.getloadavg()[0]
    single, single_cpu = single_run(bars)
    out = sweep(bars, a.workers or len(os.sched_getaffinity(0)))
    serial = out["cells"] * single
    out.update(bars=a.bars, single_run_s=single, single_run_cpu_s=single_cpu, serial_estimate_s=serial,
               speedup=serial / out["wall_s"], efficiency=serial / out["wall_s"] / out["workers"],
               cpu_per_cell_s=out["cpu_s"] / out["cells"], cpu_overhead=out["cpu_s"] / (out["cells"] * single_cpu) - 1,
               load_before=load0, load_after=os.getloadavg()[0])
    print(json.dumps(out, indent=1))
    print(f"{out['cells']} cells x {a.bars:,} bars on {out['workers']} workers: {out['wall_s']:.1f}s wall; "
          f"serial estimate {out['cells']} x {single:.1f}s = {serial:.1f}s; speed-up {out['speedup']:.2f}x, "
          f"parallel efficiency {out['efficiency']:.0%} (load average {load0:.1f} -> {out['load_after']:.1f}); "
          f"CPU {out['cpu_s']:.0f}s = {out['cpu_per_cell_s']:.1f}s a cell against {single_cpu:.1f}s for one backtest "
          f"({out['cpu_overhead']:+.0%}: splitting, warm seeding, the pool)")


if __name__ == "__main__":
    main()
