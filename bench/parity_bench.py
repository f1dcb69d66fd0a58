"""Parity over a one-hour accelerated sim session of the four shipped samples and an imbalance scalper.

A paper session of the samples (venue time under the bench's control, 12 s a market step,
300 steps) is recorded; then `runner parity` backtests the recording and compares every
decision. Prints each variant's share of identical decisions and the time parity took.

    .venv/bin/python bench/parity_bench.py [--steps 300]
"""

from __future__ import annotations

import argparse
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
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp), SIM_MANUAL + "  fill_latency: next_step\n")
        for name in SAMPLES:
            home.add_variant(name)
        home.add_variant("IS_v1.yaml", IMBALANCE)
        t = [time.time()]
        t0 = time.perf_counter()
        rt = runtime(home.path, t)
        run(rt, t, a.steps)
        rt.stop()
        rt.ledger.close()
        session_s = time.perf_counter() - t0
        (sess,) = (home.path / "state" / "recordings").iterdir()
        t1 = time.perf_counter()
        doc = parity(sess, load_venues(home.path))
        took = time.perf_counter() - t1
    print(f"session {doc['session']}: {a.steps} steps ({a.steps * 12 / 3600:g} h venue time) in {session_s:.1f} s")
    for v in doc["variants"]:
        causes = ", ".join(f"{k} {n}" for k, n in sorted(v["causes"].items())) or "-"
        print(f"  {v['id']:16} {v['identical']:5} of {v['events']:5} decisions identical ({v['share']:.1%}); "
              f"divergences by cause: {causes}")
    print(f"parity computed in {took:.2f} s")


if __name__ == "__main__":
    main()
