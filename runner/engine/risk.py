"""Pre-trade risk: our own limits, checked before every entry. Pure functions.

Reducing a position is never blocked: a limit that stops an exit would abandon a position.
"""

from __future__ import annotations

from decimal import Decimal

from runner.spec.variant import RiskSpec


def check_entry(
    limits: RiskSpec, order_notional: Decimal, position_notional_after: Decimal, daily_pnl: Decimal
) -> str | None:
    """The name of the limit an entry would break, or None."""
    if order_notional > limits.max_order_notional:
        return "max_order_notional"
    if position_notional_after > limits.max_position_notional:
        return "max_position_notional"
    if -daily_pnl >= limits.max_daily_loss:
        return "max_daily_loss"
    return None
