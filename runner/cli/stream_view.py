"""Each account's venue stream and request-budget use, as the running runner last recorded
them (``runner.engine.stream_events``): the ``accounts`` of ``runner status --json`` and one
short line per account in the text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from runner.readmodels.db import ReadDB, ts


def _age(ts: datetime | None, now: datetime) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return round((now - ts).total_seconds(), 1)


def _rows(db: ReadDB) -> list[tuple[Any, ...]]:
    if not db.has_table("stream_status"):
        return []
    return db.rows("SELECT account, runner_id, state, down_since, detail, ts FROM stream_status ORDER BY account")


def accounts_view(db: ReadDB) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for account, runner_id, state, down_since, detail_text, seen in _rows(db):
        try:
            detail = json.loads(detail_text or "{}")
        except ValueError:
            detail = {}
        detail = detail if isinstance(detail, dict) else {}
        out.append({"account": account, "stream": state, "down_s": _age(ts(down_since), now),
                    "budget": detail.get("budget", {}), "rate_limited_for_s": detail.get("blocked_for_s", 0.0),
                    "events": detail.get("events", {}), "thread_busy_s": detail.get("thread_busy_s", 0.0),
                    "runner": runner_id, "as_of_s": _age(ts(seen), now)})
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
