"""Backtest runs: listed, shown and deleted (`runner runs`, the dashboard's runs page).

Runs live in their own ledger, ``state/backtests.db`` (same schema as the live ledger), so a
thousand of them never slow `status`. Each run's metrics are the summary `runner backtest`
stored when it finished; its fills, orders and positions are under its run id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.readmodels.db import ReadDB, _sqlite_path, iso


def open_runs(url: str) -> ReadDB | None:
    """The runs' ledger for reading; None when no backtest has run here yet."""
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        return None
    return ReadDB.open(url)


def _summary(text: str | None) -> dict[str, Any]:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def list_runs(db: ReadDB | None, limit: int = 0) -> list[dict[str, Any]]:
    """Every backtest run, newest first: id, variant, times, events, fills and the headline metrics."""
    if db is None:
        return []
    sql = "SELECT run_id, variant, started, ended, summary FROM runs WHERE kind = ? ORDER BY started DESC, run_id"
    args: list[Any] = ["backtest"]
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    out = []
    for run_id, variant, started, ended, summary in db.rows(sql, args):
        s = _summary(summary)
        m = s.get("metrics") or {}
        out.append({"run_id": run_id, "variant": variant, "started": iso(started), "ended": iso(ended),
                    "finished": ended is not None, "events": s.get("bars"), "fills": s.get("fills"),
                    "total_return": m.get("total_return"), "sharpe": m.get("sharpe"),
                    "max_drawdown": m.get("max_drawdown"), "trades": m.get("trades"),
                    "currency": m.get("currency")})
    return out


def get_run(db: ReadDB | None, run_id: str) -> dict[str, Any] | None:
    """One run in full: its metrics, skip counts, the variant file it ran; None if unknown."""
    if db is None:
        return None
    rows = db.rows("SELECT run_id, variant, started, ended, summary FROM runs WHERE run_id = ? AND kind = ?",
                   (run_id, "backtest"))
    if not rows:
        return None
    _id, variant, started, ended, summary = rows[0]
    s = _summary(summary)
    dep = db.rows("SELECT path, content_hash, version FROM deployments WHERE variant = ?", (f"{variant}@{run_id}",))
    path, chash, version = dep[0] if dep else (None, None, None)
    return {"run_id": run_id, "variant": variant, "started": iso(started), "ended": iso(ended),
            "finished": ended is not None, "events": s.get("bars"), "fills": s.get("fills"),
            "metrics": s.get("metrics") or {}, "skips": s.get("skips") or {},
            "file": path, "content_hash": chash, "version": version}


def delete_run(url: str, run_id: str) -> bool:
    """Remove a run and every row under it; False if there is no such run."""
    path = _sqlite_path(url)
    if path is not None and not Path(path).exists():
        return False
    db = ReadDB.open(url)
    try:
        found = db.rows("SELECT variant FROM runs WHERE run_id = ? AND kind = ?", (run_id, "backtest"))
    finally:
        db.close()
    if not found:
        return False
    from runner.ledger.store import Ledger

    ledger = Ledger(url)
    try:
        ledger.discard_backtest(run_id, f"{found[0][0]}@{run_id}")  # the ledger's one way to remove a run
    finally:
        ledger.close()
    return True
