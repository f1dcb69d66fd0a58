"""Hyperliquid's precision rules as pure functions: sizes, prices, client ids, dust.

Sizes are multiples of 10^-szDecimals of the coin. A price has at most 5 significant figures
and at most ``6 - szDecimals`` decimals on perps (``8 - szDecimals`` on spot); integer prices
are always allowed. The fixed ``tick_size`` of an :class:`Instrument` can only carry the
decimals rule, so the significant-figure rule lives here and the adapter applies both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from runner.errors import PrecisionError
from venues.base import Instrument, Side

MAX_SIG_FIGS = 5
PERP_PRICE_DECIMALS = 6
SPOT_PRICE_DECIMALS = 8
MIN_NOTIONAL = Decimal(10)  # "Order must have minimum value of $10."
DUST_LOTS = Decimal("1.5")
# Base-tier fees (fraction of notional); the account's own tier may be lower.
PERP_FEES = (Decimal("0.00015"), Decimal("0.00045"))
SPOT_FEES = (Decimal("0.0004"), Decimal("0.0007"))
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def sz_decimals(inst: Instrument) -> int:
    """The coin's szDecimals, read back from its lot (lot = 10^-szDecimals)."""
    return max(0, -inst.lot_size.as_tuple().exponent)  # type: ignore[operator]


def max_price_decimals(inst: Instrument) -> int:
    base = SPOT_PRICE_DECIMALS if inst.kind == "spot" else PERP_PRICE_DECIMALS
    return max(0, base - sz_decimals(inst))


def perp_instrument(asset: Mapping[str, Any], collateral: str = "USDC") -> Instrument:
    """One perp (main dex or HIP-3) from a ``meta`` universe entry."""
    name = str(asset["name"])
    sz = int(asset["szDecimals"])
    return Instrument(
        symbol=name, tick_size=Decimal(1).scaleb(-(PERP_PRICE_DECIMALS - sz)),
        lot_size=Decimal(1).scaleb(-sz), min_size=Decimal(1).scaleb(-sz), min_notional=MIN_NOTIONAL,
        kind="perp", venue_symbol=name, base=name.split(":")[-1], quote=collateral,
        maker_fee=PERP_FEES[0], taker_fee=PERP_FEES[1],
        close_waives_minimum=True,  # "$10 minimum" does not apply to a reduce-only full close
    )


def spot_instruments(spot_meta: Mapping[str, Any]) -> list[Instrument]:
    """Spot pairs as ``BASE/QUOTE``; ``venue_symbol`` is the coin the venue uses (``@107``)."""
    tokens = {t["index"]: t for t in spot_meta.get("tokens", [])}
    out = []
    for pair in spot_meta.get("universe", []):
        base, quote = (tokens.get(i) for i in pair["tokens"])
        if base is None or quote is None:
            continue
        sz = int(base["szDecimals"])
        out.append(Instrument(
            symbol=f"{base['name']}/{quote['name']}",
            tick_size=Decimal(1).scaleb(-(SPOT_PRICE_DECIMALS - sz)),
            lot_size=Decimal(1).scaleb(-sz), min_size=Decimal(1).scaleb(-sz), min_notional=MIN_NOTIONAL,
            kind="spot", venue_symbol=str(pair["name"]), base=str(base["name"]), quote=str(quote["name"]),
            maker_fee=SPOT_FEES[0], taker_fee=SPOT_FEES[1],
        ))
    return out


def round_price(price: Decimal, side: Side, inst: Instrument, *, passive: bool = True) -> Decimal:
    """The nearest valid price on the passive side (buys down, sells up), or the aggressive
    side for market-style limits. Integer prices are valid whatever their digits."""
    if passive:
        rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    else:
        rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    px = price.quantize(Decimal(1).scaleb(-max_price_decimals(inst)), rounding=rounding)
    for _ in range(2):  # rounding up can add a digit (99999.5 -> 100000): check once more
        if px <= 0:
            break
        if px == px.to_integral_value():
            return px.quantize(Decimal(1))
        decimals = min(max_price_decimals(inst), MAX_SIG_FIGS - (px.adjusted() + 1))
        px = price.quantize(Decimal(1).scaleb(-max(decimals, 0)), rounding=rounding)
    if px <= 0:
        raise PrecisionError(f"{inst.symbol}: price {price} rounds to {px}")
    return px.normalize() if px != px.to_integral_value() else px.quantize(Decimal(1))


def is_valid_price(price: Decimal, inst: Instrument) -> bool:
    return price > 0 and round_price(price, Side.BUY, inst) == price


def check_sendable(qty: Decimal, price: Decimal | None, inst: Instrument, reduce_only: bool = False) -> None:
    """Refuse locally what must never reach the venue: above all a size that floors to 0
    (a size-0 reduce-only order closes the whole position on Hyperliquid)."""
    if qty <= 0 or inst.floor_qty(qty) != qty:
        raise PrecisionError(f"{inst.symbol}: size {qty} is not a positive multiple of the lot {inst.lot_size}")
    if price is not None and not is_valid_price(price, inst):
        raise PrecisionError(
            f"{inst.symbol}: price {price} breaks the 5-significant-figure / "
            f"{max_price_decimals(inst)}-decimal rule; prepare() the order first"
        )
    inst.check_order(qty, price, reduce_only)


def is_flat_with_dust(qty: Decimal, inst: Instrument) -> bool:
    """A residual of at most 1.5 lots counts as flat: the venue's rounding leaves such crumbs."""
    return abs(qty) <= inst.lot_size * DUST_LOTS


def to_cloid(client_order_id: str) -> str:
    """Our client ids are 32 lowercase hex chars and map 1:1 onto a cloid; any other id is
    hashed (deterministically), so a retry still carries the same cloid."""
    if _HEX32.match(client_order_id):
        return "0x" + client_order_id
    return "0x" + hashlib.sha256(client_order_id.encode()).hexdigest()[:32]


def from_cloid(cloid: str | None, known: Mapping[str, str]) -> str | None:
    """Our id for a cloid the venue reports: the remembered one, else its 32 hex chars."""
    if not cloid:
        return None
    return known.get(cloid.lower(), cloid.lower().removeprefix("0x"))
