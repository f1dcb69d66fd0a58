"""One variant as the dashboard's page shows it, and the overview's sparklines.

Its YAML and the diff from its previous version (same name, the highest lower version the
ledger saw deployed, e.g. MR_v12 -> MR_v13), its equity curve, fills, transitions and skips.
Bounded: every list is capped and the newest rows are kept.
"""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import select

from runner.ledger.models import MAIN_RUN
from runner.ledger.store import T_DEPLOY, T_EQUITY, T_FILLS, T_SKIPS, Ledger
from runner.ledger.types import iso

POINTS = 2000
SPARK_POINTS = 60


def equity_series(ledger: Ledger, variant: str, limit: int = POINTS) -> list[tuple[str, float]]:
    """(time, marked PnL) snapshots the runner recorded, oldest first (the newest ``limit``)."""
    c = T_EQUITY.c
    q = (select(c.ts, c.realized, c.unrealized).where(c.run_id == MAIN_RUN, c.variant == variant)
         .order_by(c.id.desc()).limit(limit))
    with ledger.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [(iso(ts), float(r) + float(u)) for ts, r, u in reversed(rows)]


def sparklines(ledger: Ledger, variants: list[str], points: int = SPARK_POINTS) -> dict[str, list[float]]:
    return {v: [p for _, p in equity_series(ledger, v, points)] for v in variants}


def previous_version(ledger: Ledger, variant: str) -> Any | None:
    """The deployment of the same name with the highest lower version, if the ledger has it."""
    dep = ledger.deployment(variant)
    if dep is None:
        return None
    c = T_DEPLOY.c
    q = (select(T_DEPLOY).where(c.name == dep.name, c.version < dep.version, ~c.variant.contains("@"))
         .order_by(c.version.desc()).limit(1))
    with ledger.engine.connect() as conn:
        return conn.execute(q).mappings().first()


def yaml_diff(old_id: str, old: str, new_id: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_id, tofile=new_id))


def variant_detail(ledger: Ledger, variant: str, fills: int = 500, transitions: int = 100) -> dict[str, Any] | None:
    dep = ledger.deployment(variant)
    if dep is None or "@" in variant:
        return None
    prev = previous_version(ledger, variant)
    c = T_FILLS.c
    fq = (select(c.ts, c.instrument, c.side, c.qty, c.price, c.fee, c.liquidity)
          .where(c.run_id == MAIN_RUN, c.variant == variant).order_by(c.id.desc()).limit(fills))
    sq = select(T_SKIPS).where(T_SKIPS.c.run_id == MAIN_RUN, T_SKIPS.c.variant == variant)
    with ledger.engine.connect() as conn:
        frows = conn.execute(fq).all()
        skips = [{"reason": r["reason"], "count": r["count"], "last": iso(r["last_ts"])}
                 for r in conn.execute(sq).mappings()]
    trans = [{"from": t.from_state, "to": t.to_state, "reason": t.reason, "detail": t.detail, "actor": t.actor,
              "ts": iso(t.ts)} for t in ledger.transitions(variant, limit=transitions)]
    return {
        "id": variant, "name": dep.name, "version": dep.version, "kind": dep.kind, "venue": dep.venue,
        "mode": dep.mode, "path": dep.path, "deployed_at": iso(dep.deployed_at), "yaml": dep.yaml_text,
        "previous": prev["variant"] if prev else None,
        "diff": yaml_diff(prev["variant"], prev["yaml_text"], variant, dep.yaml_text) if prev else "",
        "equity": equity_series(ledger, variant),
        "fills": [{"ts": iso(ts), "instrument": i, "side": s, "qty": float(q), "price": float(p), "fee": float(f),
                   "liquidity": liq} for ts, i, s, q, p, f, liq in reversed(frows)],
        "transitions": trans,
        "skips": sorted(skips, key=lambda s: -s["count"]),
    }
