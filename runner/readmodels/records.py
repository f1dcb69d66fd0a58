"""The ledger's records as the read commands list them: transitions, fills, guards, findings.

Plain SQL through :class:`~runner.readmodels.db.ReadDB`, newest rows first from the index, then
given oldest first; bounded by ``limit``.
"""

from __future__ import annotations

import json
from typing import Any

from runner.ledger.version import MAIN_RUN
from runner.readmodels.db import ReadDB, flag, iso


def events(db: ReadDB, variant: str | None, limit: int) -> list[dict[str, Any]]:
    """Lifecycle transitions of one variant, or of all deployed ones, oldest first."""
    sql = "SELECT id, variant, from_state, to_state, trigger, reason, detail, actor, ts FROM transitions "
    args: list[Any] = []
    if variant:
        sql += "WHERE variant = ? "
        args.append(variant)
    else:
        sql += "WHERE variant NOT LIKE ? "  # a backtest's variants (<id>@<run>) in an older ledger
        args.append("%@%")
    sql += "ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    return [{"variant": v, "from": f, "to": t, "trigger": trig, "reason": r, "detail": d, "actor": a, "ts": iso(when)}
            for _id, v, f, t, trig, r, d, a, when in reversed(db.rows(sql, args))]


def fills(db: ReadDB, variant: str | None, limit: int | None, run_id: str = MAIN_RUN) -> list[dict[str, Any]]:
    """The latest ``limit`` fills (0 or None: all), oldest first."""
    sql = ("SELECT variant, instrument, side, qty, price, fee, ts, client_order_id, liquidity, flag, fill_key "
           "FROM fills WHERE run_id = ?")
    args: list[Any] = [run_id]
    if variant:
        sql += " AND variant = ?"
        args.append(variant)
    sql += " ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    return [{"variant": v, "instrument": sym, "side": side, "qty": float(q), "price": float(p), "fee": float(fee),
             "ts": iso(when), "order_id": cid, "liquidity": liq, "flag": fl, "fill_id": key}
            for v, sym, side, q, p, fee, when, cid, liq, fl, key in reversed(db.rows(sql, args))]


def guards(db: ReadDB) -> list[dict[str, Any]]:
    """Global guards (kill switch, blackout, exposure caps): active or not, why, since when."""
    return [{"name": n, "active": flag(a), "reason": r, "release": rel, "since": iso(s)}
            for n, a, r, rel, s in db.rows("SELECT name, active, reason, release, since FROM guards ORDER BY name")]


def findings(db: ReadDB, include_closed: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """Audit findings recorded by `runner audit` and the runner's scheduled audits (open ones by
    default), oldest first."""
    sql = ('SELECT id, "check", severity, variant, summary, runbook, evidence, first_seen, last_seen, closed, seen '
           "FROM findings")
    if not include_closed:
        sql += " WHERE closed IS NULL"
    sql += " ORDER BY id DESC LIMIT ?"
    out = []
    for fid, check, sev, variant, summary, runbook, evidence, first, last, closed, seen in reversed(
            db.rows(sql, (limit,))):
        try:
            ev = json.loads(evidence) if evidence else {}
        except ValueError:
            ev = {"raw": evidence}
        out.append({"id": fid, "check": check, "severity": sev, "variant": variant, "summary": summary,
                    "runbook": runbook, "evidence": ev, "first_seen": iso(first), "last_seen": iso(last),
                    "closed": iso(closed), "seen": seen})
    return out


def variant_known(db: ReadDB, variant: str, run_id: str = MAIN_RUN) -> bool:
    return db.one("SELECT 1 FROM deployments WHERE variant = ? OR variant = ?", (variant, f"{variant}@{run_id}")) is not None
