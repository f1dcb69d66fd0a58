"""Alpaca assets -> our :class:`Instrument`, and Alpaca's two spellings of a crypto pair.

Crypto assets state their own increments (``price_increment``, ``min_trade_increment``,
``min_order_size``). Equities state none: prices tick in cents (sub-penny is refused above
$1) and quantities are whole shares unless fractional trading is switched on.
Orders and market data say "BTC/USD"; positions and account activities say "BTCUSD".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venues.alpaca.config import AlpacaConfig
from venues.base import Instrument

EQUITY_TICK = Decimal("0.01")
FRACTIONAL_LOT = Decimal("0.000000001")


def dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def is_crypto(asset: Any) -> bool:
    return str(getattr(asset.asset_class, "value", asset.asset_class)) == "crypto"


def instrument_from_asset(asset: Any, config: AlpacaConfig) -> Instrument:
    if is_crypto(asset):
        base, _, quote = asset.symbol.partition("/")
        lot = dec(asset.min_trade_increment) or Decimal("0.000000001")
        return Instrument(
            symbol=asset.symbol, tick_size=dec(asset.price_increment) or Decimal("0.01"), lot_size=lot,
            min_size=dec(asset.min_order_size) or lot, kind="spot", venue_symbol=asset.symbol,
            base=base, quote=quote or "USD",
            maker_fee=config.crypto_maker_fee, taker_fee=config.crypto_taker_fee,
        )
    lot = FRACTIONAL_LOT if config.fractional and asset.fractionable else Decimal(1)
    return Instrument(
        symbol=asset.symbol, tick_size=EQUITY_TICK, lot_size=lot, min_size=lot, kind="equity",
        venue_symbol=asset.symbol, base=asset.symbol, quote="USD",
    )


def compact(symbol: str) -> str:
    """The slash-free spelling positions and activities use for crypto pairs."""
    return symbol.replace("/", "")
