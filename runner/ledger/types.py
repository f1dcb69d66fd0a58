"""Column types: money and quantities stored exactly (Decimal as text), timestamps in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from runner.ledger.jsonable import iso, json_default  # noqa: F401 - re-exported: callers import them here


def decimal_text(v: Decimal) -> str:
    """The one text form of a Decimal in the ledger: plain notation, no trailing zeros."""
    return format(v.normalize(), "f") if v != 0 else "0"


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimal stored as text: identical on SQLite and PostgreSQL, never a float."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else decimal_text(Decimal(value))

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else Decimal(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
