"""What happened over a period: a variant's activity, PnL since a time, what changed.

Bounded: every list is capped at ``limit`` rows (newest kept) and says how many there were.
Times are ISO-8601 UTC; money is in the account's currency (the venue's quote currency).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from runner.ledger.models import MAIN_RUN
from runner.ledger.store import T_DEPLOY, T_EQUITY, T_ERRORS, T_EVENTS, T_FILLS, T_ORDERS, T_SKIPS, T_TRANS, Ledger
from runner.ledger.types import iso

LIMIT = 50



def _capped(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"count": len(rows), "rows": rows[-limit:], "truncated": len(rows) > limit}


def activity(ledger: Ledger, variant: str, since: datetime, until: datetime, limit: int = LIMIT) -> dict[str, Any]:
    """Orders (with their last status), fills, transitions and skip reasons of one variant."""
    lo, hi = since, until
    last = (select(T_EVENTS.c.client_order_id, func.max(T_EVENTS.c.id).label("last_id"))
            .group_by(T_EVENTS.c.client_order_id).subquery())
    oq = (select(T_ORDERS, T_EVENTS.c.status, T_EVENTS.c.detail.label("status_detail"))
          .join(last, last.c.client_order_id == T_ORDERS.c.client_order_id)
          .join(T_EVENTS, T_EVENTS.c.id == last.c.last_id)
          .where(T_ORDERS.c.run_id == MAIN_RUN, T_ORDERS.c.variant == variant,
                 T_ORDERS.c.created >= lo, T_ORDERS.c.created <= hi).order_by(T_ORDERS.c.id))
    fq = (select(T_FILLS).where(T_FILLS.c.run_id == MAIN_RUN, T_FILLS.c.variant == variant,
                                T_FILLS.c.ts >= lo, T_FILLS.c.ts <= hi).order_by(T_FILLS.c.id))
    tq = (select(T_TRANS).where(T_TRANS.c.variant == variant, T_TRANS.c.ts >= lo, T_TRANS.c.ts <= hi)
          .order_by(T_TRANS.c.id))
    sq = select(T_SKIPS).where(T_SKIPS.c.run_id == MAIN_RUN, T_SKIPS.c.variant == variant, T_SKIPS.c.last_ts >= lo)
    with ledger.engine.connect() as conn:
        orders = [{"order_id": r["client_order_id"], "instrument": r["instrument"], "side": r["side"],
                   "qty": float(r["qty"]), "price": None if r["price"] is None else float(r["price"]),
                   "purpose": r["purpose"], "status": r["status"], "detail": r["status_detail"],
                   "created": iso(r["created"])} for r in conn.execute(oq).mappings()]
        fills = [{"instrument": r["instrument"], "side": r["side"], "qty": float(r["qty"]), "price": float(r["price"]),
                  "fee": float(r["fee"]), "ts": iso(r["ts"]), "order_id": r["client_order_id"], "flag": r["flag"]}
                 for r in conn.execute(fq).mappings()]
        trans = [{"from": r["from_state"], "to": r["to_state"], "reason": r["reason"], "detail": r["detail"],
                  "actor": r["actor"], "ts": iso(r["ts"])} for r in conn.execute(tq).mappings()]
        skips = {r["reason"]: r["count"] for r in conn.execute(sq).mappings()}
    statuses = Counter(o["status"] for o in orders)
    return {"variant": variant, "since": iso(lo), "until": iso(hi),
            "orders": {**_capped(orders, limit), "by_status": dict(statuses)},
            "fills": {**_capped(fills, limit), "fees": sum(f["fee"] for f in fills)},
            "transitions": _capped(trans, limit),
            "skips": {"by_reason": skips,
                      "note": "skip counts are totals of reasons seen again since then (the ledger counts per reason)"}}


def pnl_since(ledger: Ledger, since: datetime, variants: list[str], current: dict[str, float]) -> dict[str, Any]:
    """Marked PnL since ``since`` per variant: current marked PnL minus the equity snapshot
    taken at or before ``since`` (0 for a variant deployed after it)."""
    out = []
    with ledger.engine.connect() as conn:
        for v in variants:
            row = conn.execute(select(T_EQUITY.c.realized, T_EQUITY.c.unrealized, T_EQUITY.c.ts)
                               .where(T_EQUITY.c.run_id == MAIN_RUN, T_EQUITY.c.variant == v, T_EQUITY.c.ts <= since)
                               .order_by(T_EQUITY.c.ts.desc()).limit(1)).first()
            base = float(Decimal(row[0]) + Decimal(row[1])) if row else 0.0
            out.append({"variant": v, "pnl": round(current.get(v, 0.0) - base, 8),
                        "baseline": "snapshot " + iso(row[2]) if row else "none before (started after)"})
    return {"since": iso(since), "variants": out, "total": round(sum(r["pnl"] for r in out), 8)}


def changes_since(ledger: Ledger, since: datetime, limit: int = LIMIT) -> dict[str, Any]:
    """Deploys, deploy errors, lifecycle transitions, findings opened or closed, guard changes."""
    from runner.ledger.models import FindingRow, GuardEvent

    tf, tg = FindingRow.__table__, GuardEvent.__table__
    with ledger.engine.connect() as conn:
        deploys = [{"variant": r["variant"], "kind": r["kind"], "venue": r["venue"], "ts": iso(r["deployed_at"])}
                   for r in conn.execute(select(T_DEPLOY).where(T_DEPLOY.c.deployed_at >= since)
                                         .order_by(T_DEPLOY.c.deployed_at)).mappings() if "@" not in r["variant"]]
        errors = [{"file": r["file"], "message": r["message"], "ts": iso(r["ts"])}
                  for r in conn.execute(select(T_ERRORS).where(T_ERRORS.c.ts >= since)).mappings()]
        trans = [{"variant": r["variant"], "from": r["from_state"], "to": r["to_state"], "reason": r["reason"],
                  "detail": r["detail"], "actor": r["actor"], "ts": iso(r["ts"])}
                 for r in conn.execute(select(T_TRANS).where(T_TRANS.c.ts >= since).order_by(T_TRANS.c.id)).mappings()
                 if "@" not in r["variant"]]
        opened = [{"check": r["check"], "severity": r["severity"], "variant": r["variant"], "summary": r["summary"],
                   "ts": iso(r["first_seen"])}
                  for r in conn.execute(select(tf).where(tf.c.first_seen >= since).order_by(tf.c.id)).mappings()]
        closed = [{"check": r["check"], "variant": r["variant"], "summary": r["summary"], "ts": iso(r["closed"])}
                  for r in conn.execute(select(tf).where(tf.c.closed >= since).order_by(tf.c.id)).mappings()]
        guards = [{"guard": r["name"], "active": bool(r["active"]), "reason": r["reason"], "actor": r["actor"],
                   "ts": iso(r["ts"])}
                  for r in conn.execute(select(tg).where(tg.c.ts >= since).order_by(tg.c.id)).mappings()]
    return {"since": iso(since), "deploys": _capped(deploys, limit), "deploy_errors": _capped(errors, limit),
            "transitions": _capped(trans, limit), "findings_opened": _capped(opened, limit),
            "findings_closed": _capped(closed, limit), "guards": _capped(guards, limit)}
