"""Matching against a book snapshot: pure functions, shared by the sim venue and backtests.

Liquidity a level has already given in this market step is tracked in ``used`` so one step
cannot fill the same size twice. Makers fill queue-free when the market trades through.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

Level = tuple[float, float]


def take(
    side: str, qty: Decimal, limit: Decimal | None, levels: Sequence[Level], lot: Decimal,
    used: dict[float, float],
) -> list[tuple[Decimal, Decimal]]:
    """Consume ``levels`` (the opposite side, best first) up to ``qty`` and ``limit``.

    Returns (price, qty) chunks, quantities floored to the lot; ``used`` is updated.
    """
    out: list[tuple[Decimal, Decimal]] = []
    left = qty
    for price, size in levels:
        if left <= 0:
            break
        if limit is not None and ((side == "buy" and price > limit) or (side == "sell" and price < limit)):
            break
        avail = size - used.get(price, 0.0)
        if avail <= 0:
            continue
        q = min(left, (Decimal(repr(avail)) / lot).to_integral_value(rounding="ROUND_FLOOR") * lot)
        if q <= 0:
            continue
        used[price] = used.get(price, 0.0) + float(q)
        out.append((Decimal(repr(price)), q))
        left -= q
    return out


def crosses(side: str, price: Decimal, best_bid: float, best_ask: float) -> bool:
    """Would a limit at ``price`` execute immediately?"""
    return (side == "buy" and float(price) >= best_ask) or (side == "sell" and float(price) <= best_bid)
