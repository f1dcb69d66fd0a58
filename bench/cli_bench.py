"""Read-command latency (not a test): wall time of each read command on a ledger of 100k fills
and 1,000 backtest runs, p50 and p90 over N calls, next to ``python -c pass`` and
``runner --version`` on the same machine; then the dashboard's overview (``runner serve``): time
to first byte and to rendered in Chromium.

    .venv/bin/python bench/cli_bench.py [--fills 100000] [--runs 1000] [--calls 20] [--home DIR]

The deployment is the embedded default (a 6 s ``runner run``), then ``--fills`` paper fills are
added to its variants, dated over the last 30 days so that today's PnL has work to do, and
``--runs`` backtests of MR_v13 on 300 bars each are stored (state/backtests.db). Each command
runs once untimed first, as an operator's second call would (bytecode compiled, today's PnL
checkpointed); the first `status` after the fills, with no checkpoint, is reported apart.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COMMANDS = [["status"], ["status", "--json"], ["events"], ["fills"], ["positions"], ["guards"], ["dust"],
            ["findings"], ["runs"], ["runs", "show", "RUN"], ["watch", "--once"]]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed runner has its bytecode compiled
    return env


def build_runs(home: Path, n: int) -> None:
    """``n`` real backtests of MR_v13 (300 bars each) into the deployment's state/backtests.db."""
    from bench.ou_bars import write_bars
    from runner.engine.backtest import run_backtest
    from runner.ledger.paths import backtests_url
    from runner.ledger.store import Ledger
    from runner.spec.load import load_variant

    bars = write_bars(home / "bench-bars.csv", 300)
    loaded = load_variant(REPO / "strategies.d" / "MR_v13.yaml")
    led = Ledger(backtests_url(home))
    for _ in range(n):
        run_backtest(loaded, [(loaded.spec.instruments[0], bars)], led)
    led.close()


def build(home: Path, n: int) -> None:
    env = _env()
    subprocess.run([sys.executable, "-m", "runner", "--home", str(home), "run", "--duration", "6", "--quiet"],
                   check=True, env=env)
    from runner.ledger.models import MAIN_RUN
    from runner.ledger.store import Ledger, NewFill, default_url

    led = Ledger(default_url(home))
    deps = [d for d in led.deployments() if "@" not in d.variant]
    rnd = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / n
    batch: list[NewFill] = []
    for i in range(n):
        d = deps[i % len(deps)]
        batch.append(NewFill(f"bench-{i}", None, MAIN_RUN, d.variant, "sim", "BTC-USD", "buy" if i % 2 else "sell",
                             Decimal("0.01"), Decimal(30000 + rnd.randint(-500, 500)), Decimal("0.03"), start + step * i))
        if len(batch) == 5000:
            led.apply_fills(batch)
            batch = []
    if batch:
        led.apply_fills(batch)


CPU: dict[int, float] = {}  # id of a wall() result -> its p50 CPU seconds (user + system of the command)


def wall(argv: list[str], calls: int, warm: bool = True) -> list[float]:
    """Wall seconds of each call; the CPU seconds of each go to CPU (a loaded machine inflates wall
    time several times over, CPU time much less)."""
    import resource

    env = _env()
    out, cpu = [], []
    for i in range(calls + (1 if warm else 0)):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if res.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: exit {res.returncode}: {res.stderr.decode()[-500:]}")
        if i or not warm:
            out.append(dt)
            cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    CPU[id(out)] = statistics.median(cpu)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fills", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--runs", type=int, default=1000, help="backtest runs stored in state/backtests.db")
    ap.add_argument("--home", type=Path, help="reuse (or build into) this deployment")
    ap.add_argument("--only", help="only the commands starting with this word (e.g. status)")
    a = ap.parse_args()
    tmp = None
    home = a.home
    if home is None:
        tmp = tempfile.TemporaryDirectory()
        home = Path(tmp.name)
    if not (home / "state" / "ledger.db").exists():
        home.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        build(home, a.fills)
        print(f"built {a.fills} fills in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    if not (home / "state" / "backtests.db").exists() and a.runs:
        t0 = time.perf_counter()
        build_runs(home, a.runs)
        print(f"built {a.runs} backtest runs in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    from runner.readmodels.runs import list_runs, open_runs

    db = open_runs(f"sqlite:///{home / 'state' / 'backtests.db'}")
    some_run = list_runs(db, 1)[0]["run_id"] if db is not None and list_runs(db, 1) else "none"
    cache = home / "state" / "cache" / "today.json"
    cold = []
    cold_cpu = []
    for _ in range(3):
        cache.unlink(missing_ok=True)
        one = wall([sys.executable, "-m", "runner", "--home", str(home), "status"], 1, warm=False)
        cold += one
        cold_cpu.append(CPU[id(one)])
    CPU[id(cold)] = statistics.median(cold_cpu)
    rows = [("python -c pass", wall([sys.executable, "-c", "pass"], a.calls)),
            ("runner --version", wall([sys.executable, "-m", "runner", "--version"], a.calls)),
            ("runner status (first call: no checkpoint)", cold)]
    for cmd in COMMANDS:
        if a.only and cmd[0] != a.only or a.only == "dashboard":
            continue
        cmd = [some_run if c == "RUN" else c for c in cmd]
        rows.append((f"runner {' '.join(cmd)}",
                     wall([sys.executable, "-m", "runner", "--home", str(home), *cmd], a.calls)))
    if not a.only or a.only == "dashboard":
        from bench.dashboard_timing import dashboard_rows

        rows += dashboard_rows(home, a.calls)
    print(f"| command | p50 s | p90 s | p50 CPU s |  ({a.calls} calls, {a.fills} fills, {a.runs} runs, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print("| --- | --- | --- | --- |")
    for name, xs in rows:
        cpu = CPU.get(id(xs))  # none for the dashboard's rows (a browser's time, not one process)
        xs.sort()
        print(f"| `{name}` | {statistics.median(xs):.3f} | {xs[int(0.9 * (len(xs) - 1))]:.3f} | "
              f"{'-' if cpu is None else f'{cpu:.3f}'} |")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
