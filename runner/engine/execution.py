"""Execution styles: how an intent becomes an order request. Shared by every kind.

``taker``: a limit IOC at the reference price moved by at most ``slippage_cap_bps``.
``maker``: post-only at the best bid/ask (the reprice watchdog in ``runner.engine.maker``
follows the market). Urgency routing: exits and ``urgent`` entries always go as taker.
Quotes (purpose ``quote``) are always post-only. Every limit price is clamped inside the
venue's price band around the live mid (a venue refuses prices beyond it, and a price there
is never one we meant). Quantities become exact Decimals here and are floored to the lot by
the venue's ``prepare``.
"""

from __future__ import annotations

from decimal import Decimal

from runner.kinds.base import Intent, MarketEvent
from runner.spec.variant import ExecutionSpec
from venues.base import Instrument, OrderRequest, OrderType, Side, TimeInForce

BAND_MARGIN = Decimal("0.9")  # stay inside the band even if the mid moves a little before the venue looks
NEAR_BAND = 0.85  # below BAND_MARGIN with room for float rounding: closer than this, clamp exactly


_SIDES = {s.value: s for s in Side}  # a dict lookup is ~5x cheaper than Side(value)


def to_decimal(x: float) -> Decimal:
    return Decimal(repr(x))


def is_taker(intent: Intent, style: ExecutionSpec) -> bool:
    if intent.purpose == "quote":
        return False
    return style.style == "taker" or intent.urgent or not intent.is_entry


def is_maker_entry(intent: Intent, style: ExecutionSpec) -> bool:
    """An entry the maker watchdog follows (quotes are managed by their strategy)."""
    return intent.purpose != "quote" and not is_taker(intent, style)


def price_for(intent: Intent, ev: MarketEvent, style: ExecutionSpec, side: Side) -> tuple[float, TimeInForce]:
    """The limit price as a float (exact Decimal comes after the band check) and the TIF."""
    taker = is_taker(intent, style)
    if intent.price is not None:
        return intent.price, (TimeInForce.IOC if taker else TimeInForce.POST_ONLY)
    if taker:
        if side is Side.BUY:
            return ev.ask * (1 + style.slippage_cap_bps / 10_000.0), TimeInForce.IOC
        return ev.bid * (1 - style.slippage_cap_bps / 10_000.0), TimeInForce.IOC
    return (ev.bid if side is Side.BUY else ev.ask), TimeInForce.POST_ONLY


def clamp_to_band(price: Decimal, mid: float, inst: Instrument) -> Decimal:
    """``price`` moved inside the venue's band around ``mid`` (unchanged if it has no band)."""
    if inst.price_band_pct is None or mid <= 0:
        return price
    m = to_decimal(mid)
    width = m * inst.price_band_pct * BAND_MARGIN
    return min(max(price, m - width), m + width)


def build_request(
    cid: str, intent: Intent, qty: Decimal, ev: MarketEvent, style: ExecutionSpec, inst: Instrument,
    reduce_only: bool,
) -> OrderRequest:
    side = _SIDES.get(intent.side) or Side(intent.side)
    px, tif = price_for(intent, ev, style, side)
    price = to_decimal(px)
    band = inst.price_band_pct
    if band is not None:
        mid = (ev.bid + ev.ask) * 0.5
        # Well inside the band (by a float check with room to spare) needs no exact clamp.
        if mid > 0 and abs(px - mid) > mid * float(band) * NEAR_BAND:
            price = clamp_to_band(price, mid, inst)
    return OrderRequest(cid, intent.instrument, side, qty, OrderType.LIMIT, price, tif, reduce_only)
