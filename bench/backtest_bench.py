"""Backtest throughput: `runner backtest` of the MR sample vs backtrader on the same bars.

Generates seeded OU one-minute bars (1,000,000 by default), runs `runner backtest` in a
subprocess (every fill persisted in the SQLite ledger), then the same rule in backtrader with
a per-fill SQLite insert, and prints bars/s, fills, peak RSS and the ratio. With --long it
also runs 10,000,000 bars and reports RSS growth between the two sizes.

    make bench        # or: .venv/bin/python bench/backtest_bench.py [--bars N] [--long]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.ou_bars import write_bars  # noqa: E402

RUNNER_SNIPPET = """
import json, resource, sys, time
from pathlib import Path
from runner.engine.backtest import run_backtest
from runner.ledger.store import Ledger
from runner.spec.deployment_config import load_venues
from runner.spec.load import load_variant
lv = load_variant(Path(sys.argv[1]))
led = Ledger("sqlite:///" + sys.argv[3])
from runner.cli import progress
bar = progress.start([Path(sys.argv[2])], "bench", force=True) if len(sys.argv) > 5 else None
t0 = time.perf_counter()
r = run_backtest(lv, [(lv.spec.instruments[0], Path(sys.argv[2]))], led, load_venues(Path(sys.argv[4])))
dt = time.perf_counter() - t0
progress.stop(bar)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"bars": r.bars, "seconds": dt, "fills": r.fills, "trades": r.metrics["trades"],
                  "cpu_s": ru.ru_utime + ru.ru_stime,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "writer_peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
                  "ledger_fills": led.engine.connect().exec_driver_sql(
                      "SELECT COUNT(*) FROM fills WHERE run_id = ?", (r.run_id,)).scalar()}))
"""


def run_runner(bars_csv: Path, work: Path, progress: bool = False) -> dict:  # type: ignore[type-arg]
    """``progress``: with `runner backtest`'s progress bar drawn (its watcher process), to see its cost."""
    db = work / f"ledger-{bars_csv.stem}.db"
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", RUNNER_SNIPPET, str(REPO / "strategies.d" / "MR_v13.yaml"),
                          str(bars_csv), str(db), str(REPO), *(["progress"] if progress else [])],
                         capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_backtrader(bars_csv: Path, work: Path) -> dict | None:  # type: ignore[type-arg]
    try:
        import backtrader  # noqa: F401
    except ImportError:
        print("backtrader not installed (pip install -e '.[bench]'): skipping the reference run")
        return None
    db = work / f"bt-{bars_csv.stem}.db"
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, str(HERE / "backtrader_mr.py"), str(bars_csv), str(db)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--long", action="store_true", help="also 10x the bars, for RSS growth")
    ap.add_argument("--no-backtrader", action="store_true")
    ap.add_argument("--progress", action="store_true", help="draw the progress bar during the runner's run")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    csv1 = write_bars(a.out / f"ou_{a.bars}.csv", a.bars)
    print(f"data: {csv1} ({a.bars:,} bars, generated/reused in {time.perf_counter() - t:.1f}s)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        r = run_runner(csv1, work, a.progress)
        rate = r["bars"] / r["seconds"]
        print(f"runner     : {r['bars']:,} bars in {r['seconds']:.2f}s = {rate:,.0f} bars/s "
              f"(process CPU {r['cpu_s']:.2f}s, imports included), "
              f"{r['fills']:,} fills ({r['ledger_fills']:,} in the ledger), peak RSS {mb(r['peak_rss'])} "
              f"(its ledger writer process: {mb(r['writer_peak_rss'])})")
        if not a.no_backtrader:
            b = run_backtrader(csv1, work)
            if b:
                brate = b["bars"] / b["seconds"]
                print(f"backtrader : {b['bars']:,} bars in {b['seconds']:.2f}s = {brate:,.0f} bars/s "
                      f"(process CPU {b['cpu_s']:.2f}s, imports included), {b['fills']:,} fills, "
                      f"peak RSS {mb(b['peak_rss'])}")
                print(f"ratio      : runner is {rate / brate:.1f}x backtrader "
                      f"({b['cpu_s'] / r['cpu_s']:.1f}x by process CPU: the figure to compare on a loaded machine)")
        if a.long:
            csv10 = write_bars(a.out / f"ou_{a.bars * 10}.csv", a.bars * 10)
            r10 = run_runner(csv10, work)
            growth = r10["peak_rss"] / r["peak_rss"] - 1
            wgrowth = r10["writer_peak_rss"] / r["writer_peak_rss"] - 1
            print(f"runner x10 : {r10['bars']:,} bars in {r10['seconds']:.2f}s = {r10['bars'] / r10['seconds']:,.0f} "
                  f"bars/s, peak RSS {mb(r10['peak_rss'])} ({growth:+.1%} vs {a.bars:,} bars), writer "
                  f"{mb(r10['writer_peak_rss'])} ({wgrowth:+.1%})")
    print(f"(bench process peak RSS {mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)})")


if __name__ == "__main__":
    main()
