"""Stream events and stream status per account, as the running runner records them.

Venues never write the ledger: the runtime drains each adapter's stream events and status
and writes them here; ``runner status`` and the freshness audit
read them from another process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from runner.ledger.models import StreamEventRow, StreamStatusRow
from runner.ledger.store import Ledger
from runner.ledger.types import from_epoch, utcnow

T_STREAM_EVENTS = StreamEventRow.__table__
T_STREAM_STATUS = StreamStatusRow.__table__
KEEP_DAYS = 7  # stream events older than this are pruned as new ones arrive


def record_events(ledger: Ledger, events: Iterable[Any]) -> int:
    """Venue ``StreamEvent`` values (ts epoch s, account, kind, channel, instrument, detail)."""
    rows = [dict(account=e.account, kind=str(e.kind), channel=e.channel, instrument=e.instrument,
                 detail=e.detail[:500], ts=from_epoch(e.ts)) for e in events]
    if rows:
        with ledger.begin() as conn:
            conn.execute(insert(T_STREAM_EVENTS), rows)
    return len(rows)


def prune_events(ledger: Ledger, now: datetime | None = None) -> None:
    cut = (now or utcnow()) - timedelta(days=KEEP_DAYS)
    with ledger.begin() as conn:
        conn.execute(delete(T_STREAM_EVENTS).where(T_STREAM_EVENTS.c.ts < cut))


def stream_events(ledger: Ledger, since: datetime | None = None, account: str | None = None,
                  limit: int = 500) -> list[StreamEventRow]:
    """Newest last."""
    q = select(T_STREAM_EVENTS)
    if since is not None:
        q = q.where(T_STREAM_EVENTS.c.ts >= since)
    if account is not None:
        q = q.where(T_STREAM_EVENTS.c.account == account)
    q = q.order_by(T_STREAM_EVENTS.c.id.desc()).limit(limit)
    with ledger.engine.connect() as conn:
        rows = [StreamEventRow(**r) for r in conn.execute(q).mappings()]
    return rows[::-1]


def record_status(ledger: Ledger, runner_id: str, account: str, state: str, down_since: datetime | None,
                  detail: dict[str, Any]) -> None:
    values = dict(runner_id=runner_id, state=state, down_since=down_since, detail=json.dumps(detail, default=str),
                  ts=utcnow())
    with ledger.begin() as conn:
        res = conn.execute(update(T_STREAM_STATUS).where(T_STREAM_STATUS.c.account == account).values(**values))
        if res.rowcount == 0:
            conn.execute(insert(T_STREAM_STATUS).values(account=account, **values))


def stream_status(ledger: Ledger) -> dict[str, StreamStatusRow]:
    with ledger.engine.connect() as conn:
        return {r["account"]: StreamStatusRow(**r) for r in conn.execute(select(T_STREAM_STATUS)).mappings()}
