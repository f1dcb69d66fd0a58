"""The sim's perpetuals: a mid that tracks the underlying and a deterministic funding rate.

The rate at step ``n`` depends only on (seed, instrument, n): a slow sine around a mean plus
noise, so it crosses typical open/close thresholds within minutes and flips sign at times.
Settlement every ``funding_every_steps`` steps: a long pays ``rate * qty * mark``, a short
receives it (positive rate). Pure functions; the adapter applies them to its store.
"""

from __future__ import annotations

import math
import random
import zlib

from venues.sim.config import SimInstrument


def funding_rate(cfg: SimInstrument, seed: int, sym: str, step: int) -> float:
    rng = random.Random((seed * 7_368_787 + zlib.crc32(f"{sym}#funding".encode())) * 10_000_019 + step)
    cycle = math.sin(2.0 * math.pi * step / cfg.funding_period_steps)
    return cfg.funding_mean + cfg.funding_amp * cycle + cfg.funding_noise * rng.gauss(0.0, 1.0)


def perp_mid(underlying_mid: float, rate: float) -> float:
    """The perp trades at a premium proportional to funding (longs pay when it is rich)."""
    return underlying_mid * (1.0 + 2.0 * rate)


def is_settlement(cfg: SimInstrument, step: int) -> bool:
    return step > 0 and step % cfg.funding_every_steps == 0


def payment(rate: float, qty: float, mark: float) -> float:
    """Cash received by a position of ``qty`` (signed) at settlement."""
    return -rate * qty * mark
