"""Positions derived from fills: average cost, realized PnL, fees. Pure functions.

The ledger materializes the result on every fill, the audits recompute it from the fills, and
the backtest engine uses the same function in memory, so all three agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionState:
    qty: Decimal = ZERO  # signed
    avg_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # net of nothing: fees are kept apart
    fees: Decimal = ZERO
    opened: datetime | None = None

    def unrealized(self, mark: Decimal | None) -> Decimal:
        if mark is None or self.qty == 0:
            return ZERO
        return (mark - self.avg_price) * self.qty


FLAT_POSITION = PositionState()  # shared: frozen, so a default that costs no allocation


def apply_fill(
    pos: PositionState, side_sign: int, qty: Decimal, price: Decimal, fee: Decimal, ts: datetime | None
) -> PositionState:
    """Apply one fill (``side_sign`` +1 buy, -1 sell) with the average-cost method."""
    signed = qty * side_sign
    fees = pos.fees + fee
    if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
        new_qty = pos.qty + signed
        avg = (pos.avg_price * abs(pos.qty) + price * qty) / abs(new_qty) if new_qty else ZERO
        return PositionState(new_qty, avg, pos.realized_pnl, fees, pos.opened or ts)
    # reducing, closing or flipping
    closing = min(qty, abs(pos.qty))
    direction = 1 if pos.qty > 0 else -1
    realized = pos.realized_pnl + (price - pos.avg_price) * closing * direction
    new_qty = pos.qty + signed
    if new_qty == 0:
        return PositionState(ZERO, ZERO, realized, fees, None)
    if (new_qty > 0) == (pos.qty > 0):
        return replace(pos, qty=new_qty, realized_pnl=realized, fees=fees)
    return PositionState(new_qty, price, realized, fees, ts)  # flipped: the rest opens at price


def derive(fills: Iterable[tuple[int, Decimal, Decimal, Decimal, datetime | None]]) -> PositionState:
    """Fold (side_sign, qty, price, fee, ts) tuples, oldest first, into a position."""
    pos = PositionState()
    for sign, qty, price, fee, ts in fills:
        pos = apply_fill(pos, sign, qty, price, fee, ts)
    return pos


def realized_on_day(
    fills: Iterable[tuple[str, int, Decimal, Decimal, Decimal, datetime]], day: str,
    scale: Callable[[str], Decimal] | None = None,
) -> Decimal:
    """Realized PnL net of fees booked on UTC ``day`` (YYYY-MM-DD), folding (instrument, side_sign,
    qty, price, fee, ts) tuples oldest first: today's PnL after a restart, or in `runner status`.
    ``scale(instrument)`` turns an instrument's quote units into the account's currency (cents legs)."""
    states: dict[str, PositionState] = {}
    total = ZERO
    for sym, sign, qty, price, fee, ts in fills:
        old = states.get(sym, PositionState())
        new = apply_fill(old, sign, qty, price, fee, ts)
        states[sym] = new
        if ts is not None and ts.date().isoformat() == day:
            pnl = new.realized_pnl - old.realized_pnl - fee
            total += pnl * scale(sym) if scale is not None else pnl
    return total
