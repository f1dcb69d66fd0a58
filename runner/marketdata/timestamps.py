"""Timestamps in data files: ISO-8601 or epoch seconds / ms / us / ns, to epoch seconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def epoch_seconds(raw: str) -> float:
    """Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by size), to seconds."""
    v = float(raw)
    if v > 1e17:
        return v / 1e9
    if v > 1e14:
        return v / 1e6
    if v > 1e11:
        return v / 1e3
    return v


def _iso(raw: str) -> float:
    dt = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parser_for(sample: str) -> Callable[[str], float]:
    """Pick the parser once from the first value, so the hot loop does no guessing."""
    try:
        float(sample)
        return epoch_seconds
    except ValueError:
        return _iso


def parse_any(raw: str | int | float) -> float:
    if isinstance(raw, int | float):
        return epoch_seconds(str(raw))
    return parser_for(raw)(raw)


def to_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
