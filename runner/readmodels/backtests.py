"""Backtest runs as the dashboard and the HTML report read them.

Every read of stored runs goes through ``runs_ledger`` and the two functions below, so moving
runs to their own store (``state/backtests.db``) changes this module only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from runner.ledger.store import T_FILLS, T_ORDERS, T_RUNS, Ledger
from runner.ledger.types import iso

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
    """The latest runs, newest first: id, variant, times and the headline metrics."""
    q = (select(T_RUNS).where(T_RUNS.c.kind == "backtest").order_by(T_RUNS.c.started.desc()).limit(limit))
    with runs_ledger(ledger, home).engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [_run_row(r) for r in rows]


def _run_row(r: Any) -> dict[str, Any]:
    summary = _summary(r["summary"])
    m = summary.get("metrics") or {}
    return {"run_id": r["run_id"], "variant": r["variant"], "started": iso(r["started"]),
            "ended": iso(r["ended"]) if r["ended"] else None, "events": summary.get("bars"),
            "fills": summary.get("fills"), "total_return": m.get("total_return"),
            "max_drawdown": m.get("max_drawdown"), "trades": m.get("trades"), "currency": m.get("currency", "")}


def _summary(text: str | None) -> dict[str, Any]:
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def backtest_run(ledger: Ledger, run_id: str, home: Path | None = None) -> dict[str, Any] | None:
    """One run: its summary (metrics, skips), and its fills with each order's purpose, oldest first."""
    led = runs_ledger(ledger, home)
    with led.engine.connect() as conn:
        r = conn.execute(select(T_RUNS).where(T_RUNS.c.run_id == run_id, T_RUNS.c.kind == "backtest")).mappings().first()
        if r is None:
            return None
        f, o = T_FILLS.c, T_ORDERS.c
        q = (select(f.ts, f.instrument, f.side, f.qty, f.price, f.fee, f.liquidity, o.purpose)
             .select_from(T_FILLS.outerjoin(T_ORDERS, o.client_order_id == f.client_order_id))
             .where(f.run_id == run_id).order_by(f.id.desc()).limit(FILLS_LIMIT + 1))
        rows = conn.execute(q).all()
    fills = [{"ts": iso(ts), "instrument": inst, "side": side, "qty": float(qty), "price": float(price),
              "fee": float(fee), "liquidity": liq, "purpose": purpose or liq or ""}
             for ts, inst, side, qty, price, fee, liq, purpose in reversed(rows[:FILLS_LIMIT])]
    summary = _summary(r["summary"])
    return {**_run_row(r), "metrics": summary.get("metrics") or {}, "skips": summary.get("skips") or {},
            "fills_rows": fills, "fills_truncated": len(rows) > FILLS_LIMIT}
