"""Bars whose best mean-reversion window is known by construction (sweep and tune tests).

The mean holds a level for ``every`` bars, then jumps 3% up or down; around it the price is a
fast OU process (half-life about one bar). A z-score window well inside a regime (30 bars of
120) sees one level and fades the noise; a window of half a regime (60) keeps straddling a
jump; one of two regimes (240) mixes levels and barely trades; a tiny one (4) is all noise.
So on these bars window 30 is clearly best, which the sweep must find out of sample.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.kit.home import REPO

START = 1_700_006_400  # a UTC midnight


def write_regime_bars(path: Path, n: int = 3600, seed: int = 3, every: int = 120, step_s: int = 3600) -> Path:
    rng = random.Random(seed)
    m, x, prev = 30000.0, 0.0, None
    with path.open("w") as fh:
        fh.write("timestamp,open,high,low,close,volume\n")
        for i in range(n):
            if i and i % every == 0:
                m *= 1 + 0.03 * rng.choice((-1, 1))
            x += -0.5 * x + 0.003 * m * rng.gauss(0, 1)
            c = m + x
            o = prev if prev is not None else c
            fh.write(f"{START + step_s * i},{o:.2f},{max(o, c):.2f},{min(o, c):.2f},{c:.2f},1.0\n")
            prev = c
    return path


def hourly_mr_text(window: int = 60) -> str:
    """The shipped MR_v13 on hourly bars (comments and layout kept), with ``window``."""
    text = (REPO / "strategies.d" / "MR_v13.yaml").read_text()
    text = text.replace("instruments: [BTC-USD]\n", "instruments: [BTC-USD]\ndata: {bars: 1h}\n")
    text = text.replace("  window: 60\n", f"  window: {window}\n").replace("max_hold: 10m", "max_hold: 2d")
    assert "data: {bars: 1h}" in text and f"window: {window}" in text
    return text
