"""Parity over a one-hour accelerated sim session of the four shipped samples and an imbalance scalper.

A paper session of the samples (venue time under the bench's control, 12 s a market step,
300 steps) is recorded; then `runner parity` backtests the recording and compares every
decision. Prints each variant's share of identical decisions and the time parity took.

With ``--wall S`` the session is a real one instead: `runner run --duration S` in a fresh
directory (the embedded venues.yaml: the sim at speed 60, ``fill_latency: next_step``, its
market stepped by the runtime), wall clock and account threads as a desk runs it.

    .venv/bin/python bench/parity_bench.py [--steps 300] [--wall 90]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runner.engine.parity import parity  # noqa: E402
from runner.spec.deployment_config import load_venues  # noqa: E402
from tests.kit.home import SIM_MANUAL, make_home  # noqa: E402
from tests.kit.parity_samples import IMBALANCE, SAMPLES  # noqa: E402
from tests.kit.venue_time import run, runtime  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="market steps of 12 venue seconds (300 = 1 hour)")
    ap.add_argument("--wall", type=float, default=None, metavar="S",
                    help="a real `runner run --duration S` session in a fresh directory instead")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp), SIM_MANUAL + "  fill_latency: next_step\n")
        for name in SAMPLES:
            home.add_variant(name)
        home.add_variant("IS_v1.yaml", IMBALANCE)
        t0 = time.perf_counter()
        if a.wall is not None:
            (home.path / "venues.yaml").unlink()  # a fresh directory: the embedded venues.yaml
            subprocess.run([sys.executable, "-m", "runner", "--home", str(home.path), "run", "--duration",
                            str(a.wall), "--quiet"], check=True, cwd=REPO)
            what = f"a wall-clock `runner run --duration {a.wall:g}`"
        else:
            t = [time.time()]
            rt = runtime(home.path, t)
            run(rt, t, a.steps)
            rt.stop()
            rt.ledger.close()
            what = f"{a.steps} steps ({a.steps * 12 / 3600:g} h venue time)"
        session_s = time.perf_counter() - t0
        (sess,) = (home.path / "state" / "recordings").iterdir()
        t1 = time.perf_counter()
        doc = parity(sess, load_venues(home.path))
        took = time.perf_counter() - t1
    print(f"session {doc['session']}: {what} in {session_s:.1f} s")
    for v in doc["variants"]:
        causes = ", ".join(f"{k} {n}" for k, n in sorted(v["causes"].items())) or "-"
        print(f"  {v['id']:16} {v['identical']:5} of {v['events']:5} decisions identical ({v['share']:.1%}); "
              f"divergences by cause: {causes}")
    print(f"parity computed in {took:.2f} s")


if __name__ == "__main__":
    main()
