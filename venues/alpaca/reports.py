"""Alpaca orders and FILL activities as our typed reports.

Alpaca has more order states than we do; the ones still working (accepted, pending_new,
pending_cancel, done_for_day...) are open, and whether they are partially filled is read
from ``filled_qty`` so a partially_filled order that is pending cancel stays partial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from venues.alpaca.assets import dec
from venues.base import CashflowReport, FillReport, Instrument, OrderReport, OrderStatus, Side

_DONE = {
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
    "replaced": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "suspended": OrderStatus.REJECTED,
}


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def order_report(order: Any, symbol: Callable[[str], str]) -> OrderReport:
    filled = dec(order.filled_qty) or Decimal(0)
    status = _DONE.get(_value(order.status))
    if status is None:
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW
    return OrderReport(
        client_order_id=order.client_order_id,
        instrument=symbol(order.symbol or ""),
        side=Side(_value(order.side)),
        qty=dec(order.qty) or Decimal(0),
        status=status,
        filled_qty=filled,
        price=dec(order.limit_price),
        avg_fill_price=dec(order.filled_avg_price) if filled else None,
        venue_order_id=str(order.id),
        reason=_value(order.status) if status is OrderStatus.REJECTED else None,
        ts=order.updated_at or order.submitted_at,
    )


def fill_from_activity(act: dict[str, Any], symbol: Callable[[str], str],
                       client_id: Callable[[str], str | None]) -> FillReport:
    """One FILL activity (``type`` fill or partial_fill) as one fill."""
    return FillReport(
        fill_id=str(act["id"]),
        client_order_id=client_id(str(act["order_id"])),
        instrument=symbol(str(act["symbol"])),
        side=Side("sell" if str(act["side"]).startswith("sell") else "buy"),  # sell_short is a sell
        qty=Decimal(str(act["qty"])),
        price=Decimal(str(act["price"])),
        fee=Decimal(0),
        ts=datetime.fromisoformat(str(act["transaction_time"]).replace("Z", "+00:00")),
        liquidity="taker",
        venue_order_id=str(act["order_id"]),
        fee_currency="USD",
    )


def cfee_record(act: Mapping[str, Any], symbol_of: Callable[[str], str],
                instruments: Mapping[str, Instrument]) -> CashflowReport:
    """One CFEE activity (documented: ``{"activity_type": "CFEE", "date", "net_amount", "symbol":
    "ETHUSD", "qty": "-0.000195", "price": "1884.5", ...}``) as a fee record in the quote."""
    sym = symbol_of(str(act.get("symbol") or ""))
    inst = instruments.get(sym)
    qty = Decimal(str(act.get("qty") or "0"))
    cash = Decimal(str(act.get("net_amount") or "0"))
    amount = cash if cash != 0 else qty * Decimal(str(act.get("price") or "0"))
    return CashflowReport(str(act["id"]), "fee", sym, amount, inst.quote if inst else "USD", _posted(act), qty)


def _posted(act: Mapping[str, Any]) -> datetime:
    """When the activity was posted: its id starts with that time (``YYYYMMDDhhmmssmmm::``);
    else its ``date`` (midnight UTC)."""
    stamp = str(act.get("id") or "").partition("::")[0]
    try:
        return datetime.strptime(stamp[:17] + "000", "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromisoformat(str(act.get("date") or "1970-01-01")).replace(tzinfo=UTC)
