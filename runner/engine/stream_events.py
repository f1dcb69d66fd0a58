"""What each account's stream did, into the ledger: its events as they are drained, and its
state and request-budget use every second (``runner status`` reads them from another process).

The state an operator sees is one word per account:
``connected`` (books come from the stream), ``reconnecting`` (the socket is down or coming
up; REST serves within the budget meanwhile), ``stale`` (nothing heard within the venue's
limit), ``polling`` (no stream for this account: REST within the budget), ``closed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from runner.ledger.store import Ledger
from runner.ledger.streams import record_events, record_status
from runner.ledger.types import utcnow

UP = "connected"
CONNECTION_KINDS = frozenset({"connected", "disconnected", "reconnect", "stale", "closed"})


def record_stream_events(ledger: Ledger, events: Iterable[Any]) -> int:
    """Gaps, resyncs, reconnects and staleness drained from an adapter: one ledger row each."""
    return record_events(ledger, events)


def stream_state(status: Mapping[str, Any], last_kind: str | None = None) -> str:
    """One word from an adapter's ``stream_status()`` (and the last event kind it recorded)."""
    raw = status.get("stream", "off")
    if raw in ("off", "idle"):
        return "polling"
    if raw == "closed":
        return "closed"
    silent, limit = status.get("silent_s"), status.get("stale_after_s")
    if raw == "live":
        return "stale" if silent is not None and limit and silent > limit else UP
    return "stale" if last_kind == "stale" else "reconnecting"


def budget_use(status: Mapping[str, Any]) -> dict[str, Any]:
    """Requests and weight in the last minute against the published limit, per bucket."""
    out = {}
    for name, b in (status.get("budget") or {}).get("buckets", {}).items():
        out[name] = {"requests_last_min": b.get("requests_last_min", 0), "weight_last_min": b.get("weight_last_min", 0),
                     "limit_per_min": b.get("limit_per_min"), "refused": b.get("refused", 0)}
    return out


class StreamBoard:
    """Per account: since when its stream has not been connected, and the last event kind."""

    def __init__(self) -> None:
        self.down_since: dict[str, datetime | None] = {}
        self.last_kind: dict[str, str] = {}

    def saw(self, events: Iterable[Any]) -> None:
        """Only events that say how the connection is count: a candle or book resync (REST)
        during an outage, a gap or a refused subscription left a `stale` stream `reconnecting`."""
        for e in events:
            if str(e.kind) in CONNECTION_KINDS:
                self.last_kind[e.account] = str(e.kind)

    def publish(self, ledger: Ledger, runner_id: str, statuses: Mapping[str, Mapping[str, Any]],
                stalled: Mapping[str, float]) -> None:
        """One status row per account: state, since when down, budget use, a stalled thread."""
        for account, status in statuses.items():
            state = stream_state(status, self.last_kind.get(account))
            down = state in ("reconnecting", "stale")
            since = self.down_since.get(account) if down else None
            if down and since is None:
                since = utcnow()
            self.down_since[account] = since
            detail: dict[str, Any] = {"budget": budget_use(status), "events": status.get("events", {}),
                                      "connects": status.get("connects"), "silent_s": status.get("silent_s"),
                                      "blocked_for_s": (status.get("budget") or {}).get("blocked_for_s", 0.0)}
            if status.get("bars"):  # where each instrument's bars come from (runner status)
                detail["bars"] = status["bars"]
            if stalled.get(account, 0.0) > 0:
                detail["thread_busy_s"] = round(stalled[account], 3)
            record_status(ledger, runner_id, account, state, since, detail)
