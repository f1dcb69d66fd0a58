"""Backtest runs as the dashboard and the HTML report read them.

Every read of stored runs goes through ``runs_ledger`` and the two functions below, so moving
runs to their own store (``state/backtests.db``) changes this module only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.ledger.store import Ledger

RUNS_LIMIT = 200
FILLS_LIMIT = 20_000  # the report's markers and equity walk; a longer run is cut and says so


_apart: dict[str, Ledger] = {}


def runs_ledger(ledger: Ledger, home: Path | None = None) -> Ledger:
    """Where backtest runs are stored: ``state/backtests.db`` when the deployment keeps them
    apart (opened read-only, once), else the live ledger."""
    if home is None or not (home / "state" / "backtests.db").is_file():
        return ledger
    url = f"sqlite:///{(home / 'state' / 'backtests.db').resolve()}"
    if url not in _apart:
        from runner.readmodels.readonly import open_readonly

        _apart[url] = open_readonly(url)
    return _apart[url]


def backtest_runs(ledger: Ledger, limit: int = RUNS_LIMIT, home: Path | None = None) -> list[dict[str, Any]]:
    """The latest runs, newest first: id, variant, times and the headline metrics (``runs.list_runs``)."""
    from runner.readmodels.db import ReadDB
    from runner.readmodels.runs import list_runs

    db = ReadDB.of(runs_ledger(ledger, home))
    try:
        return [{**r, "currency": r["currency"] or ""} for r in list_runs(db, limit)]
    finally:
        db.close()


def backtest_run(ledger: Ledger, run_id: str, home: Path | None = None) -> dict[str, Any] | None:
    """One run (``runs.get_run``: metrics, skips, its file) and its fills with each order's
    purpose, oldest first."""
    from runner.readmodels.db import ReadDB, iso
    from runner.readmodels.runs import get_run

    db = ReadDB.of(runs_ledger(ledger, home))
    try:
        run = get_run(db, run_id)
        if run is None:
            return None
        rows = db.rows("SELECT f.ts, f.instrument, f.side, f.qty, f.price, f.fee, f.liquidity, o.purpose "
                       "FROM fills f LEFT JOIN orders o ON o.client_order_id = f.client_order_id "
                       "WHERE f.run_id = ? ORDER BY f.id DESC LIMIT ?", (run_id, FILLS_LIMIT + 1))
    finally:
        db.close()
    fills = [{"ts": iso(ts), "instrument": inst, "side": side, "qty": float(qty), "price": float(price),
              "fee": float(fee), "liquidity": liq, "purpose": purpose or liq or ""}
             for ts, inst, side, qty, price, fee, liq, purpose in reversed(rows[:FILLS_LIMIT])]
    m = run["metrics"]
    return {**run, "total_return": m.get("total_return"), "max_drawdown": m.get("max_drawdown"),
            "trades": m.get("trades"), "currency": m.get("currency", ""),
            "fills_rows": fills, "fills_truncated": len(rows) > FILLS_LIMIT}
