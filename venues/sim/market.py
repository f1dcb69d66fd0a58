"""A deterministic synthetic market: Ornstein-Uhlenbeck mid with an L2 book around it.

Step ``n`` of an instrument depends only on (seed, instrument, n) and the previous mid, so
the market resumes exactly after a restart from the persisted (step, mid).
"""

from __future__ import annotations

import math
import random
import zlib

from venues.sim.config import SimInstrument


def step_rng(seed: int, instrument: str, step: int) -> random.Random:
    return random.Random((seed * 1_000_003 + zlib.crc32(instrument.encode())) * 10_000_019 + step)


def next_mid(cfg: SimInstrument, mid: float, rng: random.Random) -> float:
    x = mid + cfg.theta * (cfg.mu - mid) + cfg.sigma * mid * rng.gauss(0.0, 1.0)
    return max(x, cfg.mu * 0.01)


def build_book(
    cfg: SimInstrument, mid: float, depth: int, rng: random.Random
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """``depth`` levels a side, one tick apart beyond the spread; sizes vary by level and step."""
    tick = float(cfg.tick_size)
    half = max(tick, mid * cfg.spread_bps / 20000.0)
    best_bid = math.floor((mid - half) / tick) * tick
    best_ask = math.ceil((mid + half) / tick) * tick
    if best_ask <= best_bid:
        best_ask = best_bid + tick
    lot = float(cfg.lot_size)
    bids, asks = [], []
    for i in range(depth):
        bsz = max(lot, round(cfg.level_size * rng.uniform(0.2, 1.8) * (1 + 0.1 * i) / lot) * lot)
        asz = max(lot, round(cfg.level_size * rng.uniform(0.2, 1.8) * (1 + 0.1 * i) / lot) * lot)
        bids.append((round(best_bid - i * tick * 5, 10), round(bsz, 10)))
        asks.append((round(best_ask + i * tick * 5, 10), round(asz, 10)))
    return bids, asks


def ou_closes(seed: int, n: int, mu: float = 30000.0, theta: float = 0.02, sigma: float = 0.0012):  # type: ignore[no-untyped-def]
    """Closes of ``n`` seeded OU steps (one RNG stream, fast): for benchmarks and demo data."""
    rng = random.Random(seed)
    x = mu
    gauss = rng.gauss
    for _ in range(n):
        x = x + theta * (mu - x) + sigma * x * gauss(0.0, 1.0)
        if x < mu * 0.01:
            x = mu * 0.01
        yield x
