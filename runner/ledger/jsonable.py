"""Ledger values as JSON and ISO text, with no database imports (the read path uses them)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def aware(ts: datetime) -> datetime:
    """A ledger time as UTC-aware (SQLite hands them back naive, in UTC)."""
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_default(o: object) -> object:
    """``json.dumps(default=...)`` for ledger values: Decimal as a number, datetime as ISO UTC."""
    if isinstance(o, Decimal):
        return float(o)
    if isinstance(o, datetime):
        return iso(o)
    return str(o)
