"""ccxt market metadata -> our :class:`Instrument`, exactly (strings to Decimal, never floats).

ccxt states ``market['precision']`` in one of three modes; OKX (and most modern exchanges)
use TICK_SIZE, where the number *is* the step. DECIMAL_PLACES gives a digit count, turned
into ``10**-n``. SIGNIFICANT_DIGITS has no fixed step, so we fall back to the smallest
quantity the exchange accepts, which keeps flooring conservative.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venues.base import Instrument

TICK_SIZE = 4
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3

_KINDS = {"spot": "spot", "swap": "perp", "future": "future", "option": "option", "margin": "spot"}


def dec(value: Any) -> Decimal | None:
    """ccxt numbers are floats or strings; go through ``repr``/``str`` so 0.1 stays 0.1."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def step(value: Any, mode: int) -> Decimal | None:
    raw = dec(value)
    if raw is None:
        return None
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(raw))
    if mode == SIGNIFICANT_DIGITS:
        return None
    return raw


def contract_size(market: dict[str, Any]) -> Decimal:
    """Base units per contract (OKX ``ctVal``: 0.01 BTC on BTC-USDT-SWAP); 1 for spot."""
    size = dec(market.get("contractSize")) if market.get("contract") else None
    return size if size else Decimal(1)


def instrument_from_market(market: dict[str, Any], precision_mode: int) -> Instrument:
    """Tick, lot, min size and min notional as the exchange states them for ``market``.

    Quantities are in base units on every market type: a contract market's lot and minimum
    are its contract counts times the contract size (the adapter converts at the boundary)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    amount_limits = limits.get("amount") or {}
    cost_limits = limits.get("cost") or {}
    ct = contract_size(market)
    min_size = (dec(amount_limits.get("min")) or Decimal(0)) * ct
    lot = ((step(precision.get("amount"), precision_mode) or Decimal(0)) * ct) or min_size or Decimal("1e-8")
    tick = step(precision.get("price"), precision_mode) or Decimal("1e-8")
    return Instrument(
        symbol=market["symbol"],
        tick_size=tick,
        lot_size=lot,
        min_size=min_size,
        min_notional=dec(cost_limits.get("min")) or Decimal(0),
        kind=_KINDS.get(str(market.get("type")), str(market.get("type"))),
        venue_symbol=str(market.get("id", "")),
        base=str(market.get("base") or ""),
        quote=str(market.get("quote") or ""),
        maker_fee=dec(market.get("maker")) or Decimal(0),
        taker_fee=dec(market.get("taker")) or Decimal(0),
    )
