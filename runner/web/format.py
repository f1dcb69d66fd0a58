"""Number and time formats for the templates: money to the cent, quantities without float
noise, ages in words; ``None`` shows as a dash. Right alignment is the templates' ``n`` class."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def money(x: Any) -> str:
    return "-" if x is None else f"{x:,.2f}"


def qty(x: Any) -> str:
    return "-" if x is None else f"{x:.8g}"


def price(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.6g}"


def sign(x: Any) -> str:
    """The CSS class of a signed amount."""
    return "" if not x else ("pos" if x > 0 else "neg")


def when(ts: Any) -> str:
    """A stored time as ``YYYY-MM-DD HH:MM:SS`` UTC."""
    if ts is None:
        return "-"
    if isinstance(ts, str):
        try:
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            return ts
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def pct(x: Any) -> str:
    return "-" if x is None else f"{x:.2%}"


FILTERS = {"money": money, "qty": qty, "price": price, "sign": sign, "when": when, "pct": pct}
