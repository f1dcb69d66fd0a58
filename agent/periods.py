"""Times in questions and tool arguments: "1h", "30m", "today", "yesterday", "since 09:30", ISO.

One parser for the offline question classifier and the tools Claude calls, relative to the
context's ``now`` (injectable, so answers are testable).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600,
          "d": 86400, "day": 86400, "w": 604800, "week": 604800}


def aware(ts: datetime) -> datetime:
    """A ledger time as UTC (SQLite returns naive datetimes)."""
    from datetime import UTC

    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_since(text: str | None, now: datetime, default: timedelta = timedelta(hours=1)) -> datetime:
    """The start of the period ``text`` names; ``default`` before ``now`` when it names none.

    Raises ValueError for a time that cannot be read (the tool returns it as an error).
    """
    if not text:
        return now - default
    t = text.strip().lower()
    if t in ("today", "start of day", "midnight"):
        return midnight(now)
    if t == "yesterday":
        return midnight(now) - timedelta(days=1)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", t)
    if m:
        at = now.replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
        return at if at <= now else at - timedelta(days=1)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]+)", t)
    if m and m[2].rstrip("s") in _UNITS | {"m": 0, "s": 0}:
        unit = m[2] if m[2] in _UNITS else m[2].rstrip("s")
        return now - timedelta(seconds=float(m[1]) * _UNITS[unit])
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"cannot read the time {text!r}: use 1h, 30m, today, yesterday, HH:MM or ISO-8601") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=now.tzinfo)


def period_in(question: str, now: datetime, default: timedelta) -> tuple[datetime, str]:
    """The period a question names ("in the last hour", "since yesterday", "today"), and its words."""
    q = question.lower()
    if "yesterday" in q:
        return midnight(now) - timedelta(days=1), "since yesterday (UTC)"
    if re.search(r"\btoday\b|\bthis morning\b|\bsince midnight\b", q):
        return midnight(now), "today (UTC)"
    m = re.search(r"since (\d{1,2}:\d{2})", q)
    if m:
        return parse_since(m[1], now), f"since {m[1]} UTC"
    m = re.search(r"(?:last|past)\s+(\d+(?:\.\d+)?\s*)?(seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?)\b", q)
    if m:
        n = float(m[1]) if m[1] else 1.0
        unit = m[2].rstrip("s") if m[2].rstrip("s") in _UNITS else m[2]
        words = f"in the last {m[1].strip() + ' ' if m[1] else ''}{m[2]}"
        return now - timedelta(seconds=n * _UNITS.get(unit, 3600)), words
    return now - default, f"in the last {_human(default)}"


def _human(d: timedelta) -> str:
    s = d.total_seconds()
    return f"{s / 86400:g} day(s)" if s >= 86400 else f"{s / 3600:g} hour(s)" if s >= 3600 else f"{s / 60:g} min"
