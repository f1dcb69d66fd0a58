"""Each account's venue stream and request-budget use, as the running runner last recorded
them (``runner.engine.stream_events``): the ``accounts`` of ``runner status --json`` and one
short line per account in the text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from runner.ledger.store import Ledger
from runner.ledger.streams import stream_status
from runner.ledger.types import utcnow


def _age(ts: datetime | None, now: datetime) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return round((now - ts).total_seconds(), 1)


def accounts_view(ledger: Ledger) -> list[dict[str, Any]]:
    now = utcnow()
    out = []
    for account, row in sorted(stream_status(ledger).items()):
        try:
            detail = json.loads(row.detail or "{}")
        except ValueError:
            detail = {}
        out.append({"account": account, "stream": row.state, "down_s": _age(row.down_since, now),
                    "budget": detail.get("budget", {}), "rate_limited_for_s": detail.get("blocked_for_s", 0.0),
                    "events": detail.get("events", {}), "thread_busy_s": detail.get("thread_busy_s", 0.0),
                    "runner": row.runner_id, "as_of_s": _age(row.ts, now)})
    return out


def account_line(a: dict[str, Any]) -> str:
    """``hl: stream connected; budget/min rest 312/1200``: one line, within 80 columns."""
    state = a["stream"] + (f" {a['down_s']:.0f}s" if a.get("down_s") else "")
    parts = []
    for name, b in a["budget"].items():
        refused = f" ({b['refused']} refused)" if b.get("refused") else ""
        parts.append(f"{name} {b.get('weight_last_min', 0):g}/{b.get('limit_per_min') or 0:g}{refused}")
    budget = ("; budget/min " + ", ".join(parts)) if parts else ""
    busy = f"; busy {a['thread_busy_s']:.0f}s" if (a.get("thread_busy_s") or 0) >= 5 else ""
    old = f" (as of {a['as_of_s']:.0f}s ago)" if (a.get("as_of_s") or 0) > 10 else ""
    return f"{a['account']}: stream {state}{budget}{busy}{old}"
