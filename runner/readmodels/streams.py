"""Each account's venue stream, request-budget use and bar sources, as the running runner last
recorded them (``runner.engine.stream_events``, one row a second): the ``accounts`` of
``runner status --json``, the dashboard's overview and the agent's ``list_variants``.

Bar sources are per instrument and timeframe of an account whose variants use bars: where the
latest bar came from (``candles``: the venue's candle stream, ``rest``: its REST candle history
after a reconnect, ``books``: built from books, the fallback while the candle stream is down
and the way for a venue or timeframe without candles), the latest bar's close, and whether the
next one is late. Late is judged on the venue clock the runner had when it wrote the row, moved
on by the wall time since (a runner that stopped writing leaves its bars late, as they are).
Nothing here asks a venue.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from runner.readmodels.db import ReadDB, ts


def late_after_s(timeframe_s: float) -> float:
    """How long past its close a bar may come before it is late: a candle's grace (2 s) and a
    resync's retry, or the first book after the close, with room for a slow loop."""
    return min(60.0, 5.0 + timeframe_s / 10)


def _age(when: datetime | None, now: datetime) -> float | None:
    if when is None:
        return None
    return round((now - when).total_seconds(), 1)


def _rows(db: ReadDB) -> list[tuple[Any, ...]]:
    if not db.has_table("stream_status"):
        return []
    return db.rows("SELECT account, runner_id, state, down_since, detail, ts FROM stream_status ORDER BY account")


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def bar_sources(rows: Any, written_ago_s: float) -> list[dict[str, Any]]:  # noqa: ANN401
    """The recorded bar sources with the latest bar's close and lateness (see the module)."""
    out = []
    for r in rows if isinstance(rows, list) else []:
        if not isinstance(r, dict) or not isinstance(r.get("timeframe_s"), int | float):
            continue
        tf, end, seen = float(r["timeframe_s"]), r.get("last_end"), r.get("seen")
        late_s = None
        if isinstance(end, int | float) and isinstance(seen, int | float):
            over = seen + max(written_ago_s, 0.0) - (end + tf)  # how far past the next bar's close
            late_s = round(over, 1) if over > late_after_s(tf) else None
        out.append({"instrument": str(r.get("instrument", "")), "timeframe_s": r["timeframe_s"],
                    "source": r.get("source"), "candles": r.get("candles"),
                    "last_bar_close": _iso(end if isinstance(end, int | float) else None),
                    "late": late_s is not None, "late_s": late_s})
    return out


def accounts(db: ReadDB) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for account, runner_id, state, down_since, detail_text, seen in _rows(db):
        try:
            detail = json.loads(detail_text or "{}")
        except ValueError:
            detail = {}
        detail = detail if isinstance(detail, dict) else {}
        as_of = _age(ts(seen), now)
        out.append({"account": account, "stream": state, "down_s": _age(ts(down_since), now),
                    "budget": detail.get("budget", {}), "rate_limited_for_s": detail.get("blocked_for_s", 0.0),
                    "events": detail.get("events", {}), "thread_busy_s": detail.get("thread_busy_s", 0.0),
                    "bars": bar_sources(detail.get("bars"), as_of or 0.0),
                    "runner": runner_id, "as_of_s": as_of})
    return out
