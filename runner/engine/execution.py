"""Execution styles: how an intent becomes an order request. Shared by every kind.

``taker``: a limit IOC at the reference price moved by at most ``slippage_cap_bps``.
``maker``: post-only at the best bid/ask. Exits and urgent intents always go as taker.
Quantities become exact Decimals here and are floored to the lot by the venue's ``prepare``.
"""

from __future__ import annotations

from decimal import Decimal

from runner.kinds.base import Intent, MarketEvent
from runner.spec.variant import ExecutionSpec
from venues.base import Instrument, OrderRequest, OrderType, Side, TimeInForce


def to_decimal(x: float) -> Decimal:
    return Decimal(repr(x))


def is_taker(intent: Intent, style: ExecutionSpec) -> bool:
    return style.style == "taker" or intent.urgent or not intent.is_entry


def price_for(intent: Intent, ev: MarketEvent, style: ExecutionSpec, inst: Instrument) -> tuple[Decimal, TimeInForce]:
    side = Side(intent.side)
    if intent.price is not None:
        tif = TimeInForce.GTC if not is_taker(intent, style) else TimeInForce.IOC
        return to_decimal(intent.price), tif
    if is_taker(intent, style):
        ref = ev.ask if side is Side.BUY else ev.bid
        cap = style.slippage_cap_bps / 10_000.0
        px = ref * (1 + cap) if side is Side.BUY else ref * (1 - cap)
        return to_decimal(px), TimeInForce.IOC
    best = ev.bid if side is Side.BUY else ev.ask
    return to_decimal(best), TimeInForce.POST_ONLY


def build_request(
    cid: str, intent: Intent, qty: Decimal, ev: MarketEvent, style: ExecutionSpec, inst: Instrument,
    reduce_only: bool,
) -> OrderRequest:
    price, tif = price_for(intent, ev, style, inst)
    return OrderRequest(
        client_order_id=cid, instrument=intent.instrument, side=Side(intent.side), qty=qty,
        order_type=OrderType.LIMIT, price=price, tif=tif, reduce_only=reduce_only,
    )
