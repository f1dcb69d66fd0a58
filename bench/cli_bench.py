"""Read-command latency (not a test): wall time of each read command on a ledger of 100k fills,
p50 and p90 over N calls, next to ``python -c pass`` and ``runner --version`` on the same machine;
then the dashboard's overview (``runner serve``): time to first byte and to rendered in Chromium.

    .venv/bin/python bench/cli_bench.py [--fills 100000] [--calls 20] [--home DIR]

The deployment is the embedded default (a 6 s ``runner run``), then ``--fills`` paper fills are
added to its four variants, dated over the last 30 days so that today's PnL has work to do.
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

COMMANDS = [["status"], ["status", "--json"], ["events"], ["fills"], ["positions"], ["guards"], ["dust"]]


def build(home: Path, n: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
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


def wall(argv: list[str], calls: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        res = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if res.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: exit {res.returncode}: {res.stderr.decode()[-500:]}")
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fills", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=20)
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
    rows = [("python -c pass", wall([sys.executable, "-c", "pass"], a.calls)),
            ("runner --version", wall([sys.executable, "-m", "runner", "--version"], a.calls))]
    for cmd in COMMANDS:
        if a.only and cmd[0] != a.only or a.only == "dashboard":
            continue
        rows.append((f"runner {' '.join(cmd)}",
                     wall([sys.executable, "-m", "runner", "--home", str(home), *cmd], a.calls)))
    if not a.only or a.only == "dashboard":
        from bench.dashboard_timing import dashboard_rows

        rows += dashboard_rows(home, a.calls)
    print(f"| command | p50 s | p90 s |  ({a.calls} calls, {a.fills} fills, {os.cpu_count()} cores)")
    print("| --- | --- | --- |")
    for name, xs in rows:
        xs.sort()
        print(f"| `{name}` | {statistics.median(xs):.3f} | {xs[int(0.9 * (len(xs) - 1))]:.3f} |")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
