"""Seeded OU one-minute bars as a CSV in the spec's bars format (benchmarks and demos)."""

from __future__ import annotations

import argparse
from pathlib import Path

from venues.sim.market import ou_closes


def write_bars(path: Path, n: int, seed: int = 1, start: int = 1_600_000_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > 0:
        with path.open() as fh:
            if sum(1 for _ in fh) == n + 1:
                return path  # already generated with this size
    with path.open("w") as fh:
        fh.write("timestamp,open,high,low,close,volume\n")
        prev = None
        for i, c in enumerate(ou_closes(seed, n)):
            o = prev if prev is not None else c
            hi, lo = max(o, c), min(o, c)
            fh.write(f"{start + 60 * i},{o:.2f},{hi:.2f},{lo:.2f},{c:.2f},1.0\n")
            prev = c
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print(write_bars(a.out, a.bars, a.seed))
