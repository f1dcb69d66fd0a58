"""Market data by REST: the order book (``l2Book``, with the perp's funding rate riding along
from ``metaAndAssetCtxs``) and closed candles (``candleSnapshot``). The stream, when live, is
the adapter's feed; these are what it resyncs from and falls back to."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from runner.errors import RejectedError, TransientError
from venues.base import BookSnapshot, Candle, Instrument
from venues.candles import closed, timeframe_label
from venues.hyperliquid.link import HyperliquidLink

FUNDING_CTX_S = 10.0  # asset contexts (funding rates) are read at most this often
FUNDING_INTERVAL_S = 3600.0  # Hyperliquid settles funding every hour
INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d")


class HyperliquidMarket:
    def __init__(self, link: HyperliquidLink, instrument: Callable[[str], Instrument]) -> None:
        self.link = link
        self.instrument = instrument
        self._funding: dict[str, float] = {}  # coin -> current funding rate per interval
        self._ctx_at = -1e18

    def rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        inst = self.instrument(instrument)
        snap = self.link.call(lambda: self.link.c().info.l2_snapshot(inst.venue_symbol), mutating=False)
        bids, asks = snap["levels"]
        return BookSnapshot(
            instrument, float(snap.get("time", time.time() * 1000)) / 1000.0,
            [(float(lv["px"]), float(lv["sz"])) for lv in bids[:depth]],
            [(float(lv["px"]), float(lv["sz"])) for lv in asks[:depth]],
            extra=self._funding_extra(inst) if inst.kind == "perp" else {},
        )

    def with_funding(self, snap: BookSnapshot, instrument: str) -> BookSnapshot:
        """A streamed book of ``instrument``: the perp's funding rides along as by REST."""
        if "funding_rate" in snap.extra:
            return snap
        inst = self.instrument(instrument)
        extra = self._funding_extra(inst) if inst.kind == "perp" else {}
        return dataclasses.replace(snap, extra={**snap.extra, **extra}) if extra else snap

    def _funding_extra(self, inst: Instrument) -> dict[str, float]:
        """The perp's current funding rate (per hour on Hyperliquid) from ``metaAndAssetCtxs``,
        read at most every ``FUNDING_CTX_S``; none when the venue does not say (never an error)."""
        now = time.time()
        if now - self._ctx_at >= FUNDING_CTX_S:
            try:
                meta, ctxs = self.link.call(lambda: self.link.c().info.meta_and_asset_ctxs(), mutating=False)
                self._funding = {str(a["name"]): float(c["funding"])
                                 for a, c in zip(meta["universe"], ctxs, strict=False) if c.get("funding") is not None}
            except (RejectedError, TransientError, KeyError, TypeError, ValueError):
                self._funding = {}
            self._ctx_at = now
        rate = self._funding.get(inst.venue_symbol)
        return {} if rate is None else {"funding_rate": rate, "funding_interval_s": FUNDING_INTERVAL_S}

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        """``candleSnapshot`` over the last ``limit + 1`` periods; none for an interval it lacks."""
        inst = self.instrument(instrument)
        interval = timeframe_label(timeframe_s)
        if interval not in INTERVALS or limit <= 0:
            return []
        now = time.time()
        end = int(now * 1000)
        start = end - (limit + 1) * timeframe_s * 1000
        rows = self.link.call(lambda: self.link.c().info.candles_snapshot(inst.venue_symbol, interval, start, end),
                              mutating=False)
        return closed((Candle(r["t"] / 1000.0, float(r["o"]), float(r["h"]), float(r["l"]), float(r["c"]),
                              float(r.get("v") or 0.0)) for r in rows or []), timeframe_s, now, limit)
