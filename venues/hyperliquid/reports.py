"""Hyperliquid payloads -> typed reports. Pure functions over the documented shapes.

Order status (``orderStatus``): ``{"status": "order", "order": {"order": {coin, side, limitPx,
sz, oid, timestamp, origSz, cloid, tif...}, "status": "open"|"filled"|"canceled"|...,
"statusTimestamp": ms}}`` or ``{"status": "unknownOid"}``. Fills (``userFills`` /
``userFillsByTime``): ``{coin, px, sz, side: "B"|"A", time, oid, tid, crossed, fee, feeToken}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from venues.base import FillReport, OrderReport, OrderStatus, Side

ZERO = Decimal(0)
SIDES = {"B": Side.BUY, "A": Side.SELL}


def ms_to_dt(ms: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def order_status(venue_status: str, filled: Decimal) -> OrderStatus:
    """``open``/``triggered`` are live; ``filled``; every ``*Canceled``/``scheduledCancel`` is a
    cancel and every ``*Rejected`` a rejection (e.g. ``iocCancelRejected``, ``badAloPxRejected``)."""
    if venue_status in ("open", "triggered", "accepted"):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW
    if venue_status == "filled":
        return OrderStatus.FILLED
    if venue_status.endswith("Rejected") or venue_status == "rejected":
        return OrderStatus.REJECTED
    return OrderStatus.CANCELLED


@dataclass
class FillBook:
    """Fills accumulated per venue order id: one maker order filling in three chunks is one
    order of the summed size. Keyed by trade id, so a fill seen twice counts once."""

    by_oid: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)  # oid -> (qty, notional)
    seen: set[str] = field(default_factory=set)

    def add(self, fill: FillReport) -> bool:
        if fill.fill_id in self.seen:
            return False
        self.seen.add(fill.fill_id)
        if fill.venue_order_id is not None:
            oid = int(fill.venue_order_id)
            qty, notional = self.by_oid.get(oid, (ZERO, ZERO))
            self.by_oid[oid] = (qty + fill.qty, notional + fill.qty * fill.price)
        return True

    def filled(self, oid: int) -> tuple[Decimal, Decimal | None]:
        qty, notional = self.by_oid.get(oid, (ZERO, ZERO))
        return qty, (notional / qty if qty else None)


def order_report(payload: Mapping[str, Any], cid: str, symbol: str, fills: FillBook) -> OrderReport | None:
    """An ``orderStatus`` answer as a report; None for ``unknownOid``."""
    if payload.get("status") != "order":
        return None
    wrapper = payload["order"]
    o = wrapper["order"]
    orig = Decimal(str(o.get("origSz", o["sz"])))
    left = Decimal(str(o["sz"]))
    oid = int(o["oid"])
    filled = orig if wrapper["status"] == "filled" else orig - left
    _, avg = fills.filled(oid)
    return OrderReport(
        client_order_id=cid, instrument=symbol, side=SIDES[o["side"]], qty=orig,
        status=order_status(str(wrapper["status"]), filled), filled_qty=filled,
        price=Decimal(str(o["limitPx"])), avg_fill_price=avg, venue_order_id=str(oid),
        reason=None if wrapper["status"] in ("open", "filled", "canceled") else str(wrapper["status"]),
        ts=ms_to_dt(wrapper.get("statusTimestamp") or o.get("timestamp")),
    )


def open_order_report(o: Mapping[str, Any], cid: str, symbol: str) -> OrderReport:
    """One ``frontendOpenOrders`` entry (always live)."""
    orig = Decimal(str(o.get("origSz", o["sz"])))
    filled = orig - Decimal(str(o["sz"]))
    return OrderReport(
        client_order_id=cid, instrument=symbol, side=SIDES[o["side"]], qty=orig,
        status=OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW, filled_qty=filled,
        price=Decimal(str(o["limitPx"])), venue_order_id=str(o["oid"]), ts=ms_to_dt(o.get("timestamp")),
    )


def fill_report(f: Mapping[str, Any], cid: str | None, symbol: str) -> FillReport:
    fill_id = str(f["tid"]) if f.get("tid") is not None else f"{f['hash']}:{f['oid']}:{f['sz']}"
    return FillReport(
        fill_id=fill_id, client_order_id=cid, instrument=symbol, side=SIDES[f["side"]],
        qty=Decimal(str(f["sz"])), price=Decimal(str(f["px"])), fee=Decimal(str(f.get("fee", "0"))),
        ts=ms_to_dt(f["time"]) or datetime.now(UTC), liquidity="taker" if f.get("crossed") else "maker",
        venue_order_id=str(f["oid"]), fee_currency=str(f.get("feeToken") or "USDC"),
    )


def encode_cursor(ms: int, tids: set[str]) -> str:
    """Opaque to callers: the last fill time and the fills already returned at that time."""
    return f"{ms}:{','.join(sorted(tids))}"


def decode_cursor(cursor: str | None) -> tuple[int, set[str]]:
    if not cursor:
        return 0, set()
    ms, _, tids = cursor.partition(":")
    return int(ms), {t for t in tids.split(",") if t}
