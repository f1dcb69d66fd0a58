"""Storing findings with their run: persisting findings are updated, cleared ones closed.

Kept beside the checks (as ``runner.ledger.instruments`` is beside the ledger) so the ledger
class stays about orders and fills; every write is one transaction on the ledger's engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update

from runner.audit.findings import Finding, Severity
from runner.ledger.models import AuditRun, FindingRow
from runner.ledger.store import Ledger
from runner.ledger.types import utcnow

T_RUNS = AuditRun.__table__
T_FIND = FindingRow.__table__


@dataclass
class Recorded:
    """What one run changed: findings first seen now, seen again, and closed (cleared)."""

    run_id: int
    new: list[Finding] = field(default_factory=list)
    persisting: list[Finding] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)  # keys


def jsonable(value: Any) -> Any:
    """Evidence as JSON: Decimals become numbers, datetimes ISO strings."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        from runner.ledger.types import iso

        return iso(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per key, the most severe wins (checks may see a subject twice)."""
    out: dict[str, Finding] = {}
    for f in findings:
        old = out.get(f.key)
        if old is None or f.severity.rank > old.severity.rank:
            out[f.key] = f
    return list(out.values())


def start_run(ledger: Ledger, checks: Sequence[str], actor: str) -> int:
    with ledger.begin() as conn:
        return int(conn.execute(
            insert(T_RUNS).values(checks=",".join(checks), actor=actor, started=utcnow())
        ).inserted_primary_key[0])


def record(ledger: Ledger, run_id: int, checks: Sequence[str], findings: Sequence[Finding]) -> Recorded:
    """Upsert the run's findings by key and close open findings of ``checks`` not seen now."""
    now = utcnow()
    out = Recorded(run_id)
    current = {f.key: f for f in dedupe(findings)}
    with ledger.begin() as conn:
        open_rows = conn.execute(
            select(T_FIND.c.id, T_FIND.c.key, T_FIND.c.check).where(T_FIND.c.closed.is_(None))
        ).all()
        open_by_key = {key: (fid, check) for fid, key, check in open_rows}
        for key, f in current.items():
            values = dict(severity=f.severity.value, variant=f.variant, evidence=json.dumps(jsonable(f.evidence)),
                          runbook=f.runbook, summary=f.summary, last_seen=now, last_run=run_id)
            if key in open_by_key:
                conn.execute(update(T_FIND).where(T_FIND.c.id == open_by_key[key][0])
                             .values(seen=T_FIND.c.seen + 1, **values))
                out.persisting.append(f)
            else:
                conn.execute(insert(T_FIND).values(key=key, check=f.check, first_seen=now, first_run=run_id,
                                                   seen=1, **values))
                out.new.append(f)
        for key, (fid, check) in open_by_key.items():
            if check in checks and key not in current:
                conn.execute(update(T_FIND).where(T_FIND.c.id == fid).values(closed=now))
                out.closed.append(key)
        conn.execute(update(T_RUNS).where(T_RUNS.c.id == run_id).values(finished=now, findings=len(current)))
    return out


def open_findings(ledger: Ledger, check: str | None = None) -> list[FindingRow]:
    q = select(T_FIND).where(T_FIND.c.closed.is_(None))
    if check:
        q = q.where(T_FIND.c.check == check)
    with ledger.engine.connect() as conn:
        return [FindingRow(**r) for r in conn.execute(q.order_by(T_FIND.c.id)).mappings().all()]


def all_findings(ledger: Ledger, key: str | None = None) -> list[FindingRow]:
    q = select(T_FIND)
    if key:
        q = q.where(T_FIND.c.key == key)
    with ledger.engine.connect() as conn:
        return [FindingRow(**r) for r in conn.execute(q.order_by(T_FIND.c.id)).mappings().all()]


def last_alerted(ledger: Ledger, key: str) -> datetime | None:
    """Latest alert for ``key`` across its rows, so a flapping finding is rate-limited too."""
    with ledger.engine.connect() as conn:
        return conn.execute(select(func.max(T_FIND.c.alerted)).where(T_FIND.c.key == key)).scalar()


def mark_alerted(ledger: Ledger, key: str, ts: datetime) -> None:
    with ledger.begin() as conn:
        conn.execute(update(T_FIND).where(T_FIND.c.key == key, T_FIND.c.closed.is_(None)).values(alerted=ts))


def row_to_finding(row: FindingRow) -> Finding:
    return Finding(row.check, Severity(row.severity), row.variant, json.loads(row.evidence), row.runbook, row.summary)
