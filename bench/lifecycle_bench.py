"""Lifecycle benchmarks (not tests):

(a) deploy latency: write a variant file into a running runner's strategies.d and time until
    its ``active`` transition is in the ledger, over N drops (p50/p99);
(b) tick-to-order latency: in a paper session on sim, the time from a market-data event being
    handed to the engine to the order reaching the venue adapter's ``submit`` (p50/p99);
(c) memory: RSS of a runtime with 20 variants over an hour of accelerated sim time.

    .venv/bin/python bench/lifecycle_bench.py [--drops 50] [--hours 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from tests.kit.home import drive, make_home, mr_yaml  # noqa: E402
from tests.kit.process import start_runner, stop_runner, wait_for  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def deploy_latency(drops: int) -> list[float]:
    """Wall time from the file landing in strategies.d to its `active` row in the ledger."""
    from runner.ledger.store import Ledger, default_url

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "strategies.d").mkdir()
        # window 2: the variant is warm on its second event, so `active` follows deployment at once
        (home / "venues.yaml").write_text("sim:\n  adapter: sim\n  seed: 3\n  tick_interval_s: 0.01\n")
        (home / "runner.yaml").write_text("loop_interval_s: 0.005\n")
        proc = start_runner(home, "--quiet")
        try:
            wait_for(lambda: (home / "state" / "ledger.db").exists(), timeout=30)
            led = Ledger(default_url(home))
            out = []
            for i in range(drops):
                text = mr_yaml(version=100 + i, window=2, entry_z=50, exit_z=10).replace("name: MR", "name: D")
                t0 = time.perf_counter()
                (home / "strategies.d" / f"D_v{100 + i}.yaml").write_text(text)
                wait_for(lambda i=i: (s := led.state(f"D_v{100 + i}")) is not None and s.state == "active",
                         timeout=10, every=0.001)
                out.append(time.perf_counter() - t0)
            return out
        finally:
            stop_runner(proc)


def tick_to_order(samples: int, record: bool = True) -> list[float]:
    """In-process paper session on a manual-clock sim; the adapter stamps submit(). The runner
    prints as `runner run` does (to /dev/null), so console output is part of the measure."""
    from rich.console import Console

    from runner.engine import variant as variant_mod
    from runner.engine.report import Reporter

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        home = make_home(Path(tmp), runner_yaml=None if record else "record: false\n")
        home.add_variant("MR_v13.yaml", mr_yaml(window=5, entry_z=0.5, exit_z=0.1))
        rt = home.runtime()
        rt.reporter = Reporter(Console(file=devnull, highlight=False, soft_wrap=True))
        rt.start()
        sim = rt.adapters["sim"]
        stamps: list[float] = []
        submit = sim.submit
        starts: dict[int, float] = {}
        on_event = variant_mod.VariantEngine.on_event

        def timed_on_event(self, ev):  # type: ignore[no-untyped-def]
            starts[0] = time.perf_counter_ns()
            return on_event(self, ev)

        def timed_submit(req):  # type: ignore[no-untyped-def]
            stamps.append((time.perf_counter_ns() - starts[0]) / 1e3)
            return submit(req)

        variant_mod.VariantEngine.on_event = timed_on_event  # type: ignore[method-assign]
        sim.submit = timed_submit  # type: ignore[method-assign]
        try:
            while len(stamps) < samples:
                drive(rt, 1)
        finally:
            variant_mod.VariantEngine.on_event = on_event  # type: ignore[method-assign]
        return stamps


def memory(hours: float, variants: int = 20) -> list[tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp))
        for i in range(variants):
            home.add_variant(f"M{i}_v1.yaml", mr_yaml(version=1).replace("name: MR", f"name: M{i}"))
        rt = home.runtime()
        clock = [time.time()]
        rt.clock = lambda: clock[0]
        rt.start()
        proc = psutil.Process()
        steps = int(hours * 3600 / 0.2)  # one sim step per 0.2 s of market time
        out = []
        for i in range(steps):
            clock[0] += 0.2
            drive(rt, 1)
            if i % (steps // 10) == 0 or i == steps - 1:
                out.append((i * 0.2 / 60, proc.memory_info().rss / 1e6))
        rt.stop()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drops", type=int, default=50)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--only", choices=["deploy", "tick", "memory"])
    a = ap.parse_args()
    if a.only in (None, "deploy"):
        d = [x * 1000 for x in deploy_latency(a.drops)]
        print(f"(a) deploy -> active over {len(d)} drops: p50 {statistics.median(d):.1f} ms, p99 {pct(d, 99):.1f} ms, "
              f"max {max(d):.1f} ms")
    if a.only in (None, "tick"):
        for record in (True, False):
            t = tick_to_order(a.samples, record)
            print(f"(b) market event -> venue submit over {len(t)} orders, recording {'on' if record else 'off'}: "
                  f"p50 {statistics.median(t):.1f} us, p99 {pct(t, 99):.1f} us")
    if a.only in (None, "memory"):
        m = memory(a.hours)
        first_after_warm = m[1][1] if len(m) > 1 else m[0][1]
        print(f"(c) RSS with 20 variants over {a.hours:g} h of sim time: " +
              ", ".join(f"{mins:.0f}m {rss:.0f}MB" for mins, rss in m) +
              f"; growth after the first tenth {m[-1][1] / first_after_warm - 1:+.1%}")


if __name__ == "__main__":
    main()
