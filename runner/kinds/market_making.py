"""market_making: two-sided post-only quotes around a reference price.

Quote size scales with recent traded volume between ``min_size`` and ``max_size``; inventory
skew widens the side that would grow the position (and drops it at ``max_inventory``).
Quotes are replaced only when they move more than ``reprice_bps`` or inventory changed, never
more often than ``min_replace_s``. Every quote is clamped inside ``price_band_pct`` around the
live mid and never crosses the touch: the Apr 24 incident was a reference price that drifted
away from the market and dragged the quotes out of the venue's band. A drift beyond
``max_ref_drift_pct`` is flagged (``reference_drift``) so the audits can see it; a clamp is
flagged ``quote_clamped``. The engine clamps again to the venue's own band.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from runner.kinds.base import FLAT, Decision, Intent, KindParams, MarketEvent, PositionView, Strategy
from runner.kinds.units import Duration


class MarketMakingParams(KindParams):
    half_spread_bps: float = Field(10.0, gt=0, description="distance of each quote from the reference")
    min_size: float = Field(0.01, gt=0, description="base units per quote when volume is thin")
    max_size: float = Field(0.1, gt=0, description="base units per quote at volume_ref or more")
    volume_window: int = Field(20, ge=1, le=10_000, description="events averaged for traded volume")
    volume_ref: float = Field(1.0, gt=0, description="average volume per event giving max_size")
    max_inventory: float = Field(0.5, gt=0, description="base units; the growing side stops here")
    skew: float = Field(1.0, ge=0, description="growing side's spread multiplier at full inventory is 1 + skew")
    reprice_bps: float = Field(5.0, ge=0, description="replace quotes that moved more than this")
    min_replace_s: Duration = Field(1.0, ge=0)
    refresh_s: Duration = Field(5.0, gt=0, description="re-send quotes at least this often (a filled side comes back)")
    reference: Literal["mid", "ema", "fair_value"] = "mid"
    ema_halflife_s: Duration = Field(30.0, gt=0)
    price_band_pct: float = Field(0.05, gt=0, lt=1, description="quotes stay within this of the live mid")
    max_ref_drift_pct: float = Field(0.01, gt=0, description="flag when the reference is this far from mid")

    @model_validator(mode="after")
    def _sizes(self) -> MarketMakingParams:
        if self.max_size < self.min_size:
            raise ValueError(f"max_size ({self.max_size}) must be at least min_size ({self.min_size})")
        return self


@dataclass
class _Book:
    volumes: deque[float]
    ref: float | None = None
    ref_ts: float = 0.0
    last_ts: float | None = None
    last_bid: float | None = None
    last_ask: float | None = None
    last_inv: float = 0.0


def quote_prices(ref: float, mid: float, inv_ratio: float, p: MarketMakingParams) -> tuple[float, float, bool]:
    """(bid, ask, clamped): skewed quotes around ``ref``, clamped to the band around ``mid``."""
    bid_off = p.half_spread_bps * (1.0 + p.skew * max(inv_ratio, 0.0))
    ask_off = p.half_spread_bps * (1.0 + p.skew * max(-inv_ratio, 0.0))
    bid = ref * (1.0 - bid_off / 10_000.0)
    ask = ref * (1.0 + ask_off / 10_000.0)
    lo, hi = mid * (1.0 - p.price_band_pct), mid * (1.0 + p.price_band_pct)
    cb, ca = min(max(bid, lo), hi), min(max(ask, lo), hi)
    return cb, ca, (cb != bid or ca != ask)


def quote_size(avg_volume: float, p: MarketMakingParams) -> float:
    return p.min_size + (p.max_size - p.min_size) * min(1.0, avg_volume / p.volume_ref)


class MarketMaking(Strategy):
    Params = MarketMakingParams
    streams = ("quotes", "books")  # quotes follow every change of the touch
    default_stream = "books"

    def __init__(self, params: MarketMakingParams, instruments: Sequence[str]) -> None:
        super().__init__(params, instruments)
        self.p = params
        self._books = {i: _Book(deque(maxlen=params.volume_window)) for i in instruments}

    @property
    def warm(self) -> bool:
        return all(len(b.volumes) >= self.p.volume_window for b in self._books.values())

    def _reference(self, b: _Book, ev: MarketEvent, mid: float) -> float:
        p = self.p
        if p.reference == "fair_value" and "fair_value" in ev.extra:
            b.ref = float(ev.extra["fair_value"])
        elif p.reference == "ema" and b.ref is not None:
            alpha = 1.0 - 0.5 ** (max(ev.ts - b.ref_ts, 0.0) / p.ema_halflife_s)
            b.ref += alpha * (mid - b.ref)
        elif b.ref is None or p.reference == "mid":
            b.ref = mid
        b.ref_ts = ev.ts
        return b.ref

    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision:
        p = self.p
        b = self._books[ev.instrument]
        b.volumes.append(ev.volume)
        mid = ev.mid
        ref = self._reference(b, ev, mid)
        if len(b.volumes) < p.volume_window:
            return "warming"
        if abs(ref - mid) > mid * p.max_ref_drift_pct:
            self.flag("reference_drift")
        if b.last_ts is not None and ev.ts - b.last_ts < p.min_replace_s:
            return "min_replace_interval"
        inv = positions.get(ev.instrument, FLAT).qty
        ratio = max(-1.0, min(1.0, inv / p.max_inventory))
        bid, ask, clamped = quote_prices(ref, mid, ratio, p)
        if clamped:
            self.flag("quote_clamped")
        bid, ask = min(bid, ev.bid), max(ask, ev.ask)  # post-only: never cross the touch
        if b.last_bid is not None and inv == b.last_inv and b.last_ts is not None and ev.ts - b.last_ts < p.refresh_s:
            moved = max(abs(bid - b.last_bid) / b.last_bid, abs(ask - (b.last_ask or ask)) / ask) * 10_000.0
            if moved <= p.reprice_bps:
                return "quotes_unchanged"
        size = quote_size(sum(b.volumes) / len(b.volumes), p)
        b.last_ts, b.last_bid, b.last_ask, b.last_inv = ev.ts, bid, ask, inv
        return [
            Intent(ev.instrument, "buy", "quote", qty=size if ratio < 1.0 else 0.0, price=bid),
            Intent(ev.instrument, "sell", "quote", qty=size if ratio > -1.0 else 0.0, price=ask),
        ]
