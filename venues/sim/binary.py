"""The sim's binary event markets: YES/NO books around a fair price, rounds and settlement.

Each market ``M`` of an event has a fair YES price in cents (an OU around ``100 / markets``),
one step at a time like the spot mids. Its book is the venue's single YES/NO book: YES bids
and NO bids; a YES ask is 100 - a NO bid. Now and then one side's bid jumps (a dislocation),
which is when ``yes_ask + no_ask`` drops below 100. Every ``round_steps`` the event expires:
exactly one outcome pays 100c (YES of one market for a multi-market event), and a new round
lists at the prior. Pure functions; the adapter applies them to its store.
"""

from __future__ import annotations

import math
import random
import zlib
from decimal import Decimal

from venues.sim.config import SimBinaryEvent

YES, NO = "yes", "no"  # the legs as Kalshi names them: TICKER:yes, TICKER:no
PAYOUT = 100.0


def leg(market: str, outcome: str) -> str:
    return f"{market}:{outcome}"


def split_leg(sym: str) -> tuple[str, str | None]:
    market, sep, outcome = sym.rpartition(":")
    if sep and outcome in (YES, NO):
        return market, outcome
    return sym, None


def markets_of(name: str, ev: SimBinaryEvent) -> list[str]:
    return list(ev.markets) or [name]


def prior(ev: SimBinaryEvent, name: str) -> float:
    """A fresh round lists at even odds: 50c for one market, 100/n for n exclusive ones."""
    n = len(markets_of(name, ev))
    return 50.0 if n == 1 else 100.0 / n


def rng_for(seed: int, key: str, step: int) -> random.Random:
    return random.Random((seed * 9_999_991 + zlib.crc32(key.encode())) * 10_000_019 + step)


def next_fair(ev: SimBinaryEvent, fair: float, mean: float, rng: random.Random) -> float:
    x = fair + ev.theta * (mean - fair) + ev.sigma_c * rng.gauss(0.0, 1.0)
    return min(97.0, max(3.0, x))


def book(ev: SimBinaryEvent, fair: float, rng: random.Random) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(yes_bids, no_bids) in cents, best first."""
    yes_best = math.floor(fair) - ev.half_spread_c
    no_best = math.floor(100.0 - fair) - ev.half_spread_c
    if rng.random() < ev.dislocation_prob:
        jump = rng.randint(2, ev.dislocation_max_c)
        if rng.random() < 0.5:
            yes_best += jump
        else:
            no_best += jump
    yes_best, no_best = min(max(yes_best, 1), 98), min(max(no_best, 1), 98)

    def side(best: int) -> list[tuple[float, float]]:
        return [(float(best - i), float(max(1, round(ev.level_size * rng.uniform(0.3, 1.7)))))
                for i in range(ev.depth) if best - i >= 1]

    return side(yes_best), side(no_best)


def leg_book(outcome: str | None, yes_bids: list[tuple[float, float]], no_bids: list[tuple[float, float]]
             ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(bids, asks) of one leg: its own bids; its asks are 100 - the opposite bids."""
    own, other = (no_bids, yes_bids) if outcome == NO else (yes_bids, no_bids)
    return own, [(PAYOUT - p, s) for p, s in other]


def extra(yes_bids: list[tuple[float, float]], no_bids: list[tuple[float, float]]) -> dict[str, float]:
    """The keys ``readers.read_binary_books`` puts in ``MarketEvent.extra``."""
    yb = yes_bids[0] if yes_bids else (0.0, 0.0)
    nb = no_bids[0] if no_bids else (0.0, 0.0)
    return {"yes_bid": yb[0], "yes_bid_size": yb[1], "no_bid": nb[0], "no_bid_size": nb[1],
            "yes_ask": PAYOUT - nb[0] if no_bids else PAYOUT, "no_ask": PAYOUT - yb[0] if yes_bids else PAYOUT}


def netted(yes_qty: Decimal, no_qty: Decimal) -> Decimal:
    """Contracts of one market held long on BOTH legs: the venue nets them into cash at once
    (Kalshi keeps one signed position per market; each pair is paid its 100c). The one rule
    for the sim and the backtest's replay venue, so both end a YES+NO purchase in cash."""
    n = min(yes_qty, no_qty)
    return n if n > 0 else Decimal(0)


def winner(fairs: dict[str, float], rng: random.Random) -> tuple[str, str]:
    """(market, outcome) that pays: one market's YES for several, else YES or NO of the one."""
    if len(fairs) == 1:
        (m, f), = fairs.items()
        return m, (YES if rng.random() * 100.0 < f else NO)
    total = sum(fairs.values())
    x = rng.random() * total
    for m, f in fairs.items():
        x -= f
        if x <= 0:
            return m, YES
    return next(reversed(fairs)), YES
