"""Candle history shared by the adapters: timeframe labels and "closed bars only"."""

from __future__ import annotations

from collections.abc import Iterable

from venues.base import Candle

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def timeframe_label(secs: int) -> str:
    """60 -> ``1m``, 3600 -> ``1h``: the labels ccxt, Hyperliquid and our YAML share."""
    for unit, size in _UNITS:
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def closed(candles: Iterable[Candle], timeframe_s: int, now: float, limit: int) -> list[Candle]:
    """Oldest first, without the bar still in progress, at most the latest ``limit``."""
    out = sorted((c for c in candles if c.ts + timeframe_s <= now), key=lambda c: c.ts)
    return out[-limit:] if limit > 0 else []
