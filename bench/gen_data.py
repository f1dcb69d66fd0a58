"""Generate backtest data in the spec's formats: bars, order books, funding, binary books.

    python bench/gen_data.py bars OUT.csv [--n 5000] [--mu 30000] [--seed 1]
    python bench/gen_data.py books OUT.jsonl [--n 5000] [--mu 2000]
    python bench/gen_data.py funding OUT.csv [--n 200] [--every 3600]
    python bench/gen_data.py binary OUT.jsonl [--markets KXSIM-A] [--round 150]
    python bench/gen_data.py all DIR        # every file the shipped samples' backtests need

Deterministic given the seed. The processes mirror the sim venue's (OU mids, a sine-plus-noise
funding rate, binary books with occasional dislocations and a result row per round).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from pathlib import Path

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z


def ou(rng: random.Random, n: int, mu: float, theta: float = 0.02, sigma: float = 0.0012) -> list[float]:
    x, out = mu, []
    for _ in range(n):
        x = max(mu * 0.01, x + theta * (mu - x) + sigma * x * rng.gauss(0.0, 1.0))
        out.append(x)
    return out


def bars(path: Path, n: int, mu: float, seed: int, step_s: int = 60, premium: list[float] | None = None) -> None:
    rng = random.Random(seed)
    closes = ou(rng, n, mu)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        prev = closes[0]
        for i, c in enumerate(closes):
            if premium is not None:
                c *= 1.0 + premium[i]
            w.writerow([T0 + i * step_s, round(prev, 2), round(max(prev, c), 2), round(min(prev, c), 2), round(c, 2),
                        round(abs(rng.gauss(0, 1.0)), 4)])
            prev = c


def books(path: Path, n: int, mu: float, seed: int, step_s: int = 1, levels: int = 5) -> None:
    """Order-book snapshots with a traded ``volume`` per snapshot (market making needs it)."""
    rng = random.Random(seed)
    tick = 0.01
    with path.open("w") as fh:
        for i, mid in enumerate(ou(rng, n, mu, sigma=0.0008)):
            half = max(tick, mid * 0.5 / 10_000)
            bb, ba = math.floor((mid - half) / tick) * tick, math.ceil((mid + half) / tick) * tick
            bids = [[round(bb - k * tick * 5, 2), round(rng.uniform(0.5, 5.0), 3)] for k in range(levels)]
            asks = [[round(ba + k * tick * 5, 2), round(rng.uniform(0.5, 5.0), 3)] for k in range(levels)]
            fh.write(json.dumps({"ts": T0 + i * step_s, "bids": bids, "asks": asks,
                                 "volume": round(abs(rng.gauss(0, 3.0)), 3)}) + "\n")


def funding_rates(n: int, seed: int, mean: float = 3e-5, amp: float = 4e-5, period: int = 48) -> list[float]:
    rng = random.Random(seed)
    return [mean + amp * math.sin(2 * math.pi * i / period) + 5e-6 * rng.gauss(0, 1) for i in range(n)]


def funding(path: Path, n: int, seed: int, every_s: int = 3600) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "rate"])
        for i, r in enumerate(funding_rates(n, seed)):
            w.writerow([T0 + (i + 1) * every_s, f"{r:.8f}"])


def binary(path: Path, markets: list[str], rounds: int, round_steps: int, seed: int, step_s: int = 10) -> None:
    """Binary books (cents) per market and step; a ``result`` row closes each round."""
    rng = random.Random(seed)
    with path.open("w") as fh:
        t = T0
        held: dict[str, tuple[int, dict]] = {}  # a dislocated book stays a few steps (a backtest fills on the next)
        for r in range(rounds):
            fair = {m: 50.0 if len(markets) == 1 else 100.0 / len(markets) for m in markets}
            held.clear()
            for _ in range(round_steps):
                t += step_s
                for m in markets:
                    fair[m] = min(97.0, max(3.0, fair[m] + 0.05 * (50 - fair[m]) + rng.gauss(0, 1.0)))
                    if m in held and held[m][0] > 0:
                        left, row = held[m]
                        held[m] = (left - 1, row)
                        fh.write(json.dumps({**row, "ts": t}) + "\n")
                        continue
                    yb, nb = math.floor(fair[m]) - 1, math.floor(100 - fair[m]) - 1
                    dislocated = rng.random() < 0.15
                    if dislocated:
                        jump = rng.randint(2, 9)
                        yb, nb = (yb + jump, nb) if rng.random() < 0.5 else (yb, nb + jump)
                    yb, nb = min(max(yb, 1), 98), min(max(nb, 1), 98)
                    row = {"ts": t, "market": m,
                           "yes_bids": [[yb - k, rng.randint(5, 35)] for k in range(3) if yb - k >= 1],
                           "no_bids": [[nb - k, rng.randint(5, 35)] for k in range(3) if nb - k >= 1]}
                    if dislocated:
                        held[m] = (rng.randint(1, 3), row)
                    fh.write(json.dumps(row) + "\n")
            t += step_s
            for m in markets:
                result = "yes" if rng.random() * 100 < fair[m] else "no"
                fh.write(json.dumps({"ts": t, "market": m, "round": r, "result": result}) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["bars", "books", "funding", "binary", "all"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--mu", type=float, default=30000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--markets", default="KXSIM-A")
    ap.add_argument("--round", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--every", type=int, default=3600)
    a = ap.parse_args(argv)
    if a.what == "bars":
        bars(a.out, a.n, a.mu, a.seed)
    elif a.what == "books":
        books(a.out, a.n, a.mu, a.seed)
    elif a.what == "funding":
        funding(a.out, a.n, a.seed, a.every)
    elif a.what == "binary":
        binary(a.out, a.markets.split(","), a.rounds, a.round, a.seed)
    else:
        d = a.out
        d.mkdir(parents=True, exist_ok=True)
        bars(d / "btc_bars.csv", a.n, 30000.0, a.seed)
        books(d / "eth_books.jsonl", a.n, 2000.0, a.seed + 1)
        hours = 24 * 14
        rates = funding_rates(hours, a.seed + 2)
        minutes = hours * 60  # funding_arb consumes 1-minute bars (its kind's default); funding settles hourly
        bars(d / "btc_spot_1m.csv", minutes, 30000.0, a.seed + 3, 60)
        bars(d / "btc_perp_1m.csv", minutes, 30000.0, a.seed + 3, 60, premium=[2 * rates[i // 60] for i in range(minutes)])
        funding(d / "btc_funding.csv", hours, a.seed + 2)
        binary(d / "kalshi_books.jsonl", ["KXSIM-A", "KXSIM-B"], a.rounds, a.round, a.seed + 4)
        print(f"wrote {', '.join(sorted(p.name for p in d.iterdir()))} to {d}")


if __name__ == "__main__":
    main()
