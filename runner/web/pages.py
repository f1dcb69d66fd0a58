"""What each dashboard page shows, assembled from the shared read models (no queries here
beyond theirs). Plain dicts for the templates; every value is escaped by Jinja2 when shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.ledger.store import T_SKIPS, Ledger


def _skips_by_variant(ledger: Ledger) -> dict[str, list[tuple[str, int]]]:
    from sqlalchemy import select

    from runner.ledger.models import MAIN_RUN

    out: dict[str, list[tuple[str, int]]] = {}
    with ledger.engine.connect() as conn:
        for v, reason, n in conn.execute(select(T_SKIPS.c.variant, T_SKIPS.c.reason, T_SKIPS.c.count)
                                         .where(T_SKIPS.c.run_id == MAIN_RUN)):
            out.setdefault(v, []).append((reason, n))
    return {v: sorted(rows, key=lambda r: -r[1]) for v, rows in out.items()}


def why(v: dict[str, Any], runner_state: str, skips: list[tuple[str, int]], guards: list[str]) -> str:
    """Why a variant is or is not trading, in one line."""
    st = v["state"]
    if v.get("last_error"):
        return str(v["last_error"])
    if st == "retired":
        return "retired, still holding a position: see Findings (retired_flat)" if v.get("legs") else "retired"
    running = runner_state == "running"
    if st == "active":
        parts = ["blocked by guard " + ", ".join(guards) if guards else "trading" if running else "would trade"]
    elif v.get("pause_requested"):
        parts = [f"{st}; pause requested: {v['reason']} {v['detail']}".strip()]
    else:
        parts = [f"{st}: {v['reason']}" + (f" ({v['detail']})" if v["detail"] else "")]
    if not running:
        parts.append(f"nobody runs it: runner {runner_state}")
    elif skips and st in ("active", "warming"):
        parts.append("skips " + ", ".join(f"{r} {n:,}" for r, n in skips[:2]))
    return "; ".join(parts)


def overview(ledger: Ledger) -> dict[str, Any]:
    from runner.cli.liveness import describe
    from runner.cli.views import positions_view, status_view
    from runner.engine.guards import guard_rows
    from runner.readmodels.variant_detail import sparklines
    from runner.viz.charts import sparkline_svg

    doc = status_view(ledger)
    guards = guard_rows(ledger)
    active = [g["name"] for g in guards if g["active"]]
    skips = _skips_by_variant(ledger)
    marks: dict[str, list[dict[str, Any]]] = {}
    for p in positions_view(ledger):
        if p["qty"]:
            marks.setdefault(p["variant"], []).append(p)
    spark = sparklines(ledger, [v["id"] for v in doc["variants"]])
    for v in doc["variants"]:
        v["legs"] = marks.get(v["id"], [])
        v["why"] = why(v, doc["runner"]["state"], skips.get(v["id"], []), active)
        v["spark"] = sparkline_svg(spark.get(v["id"], []))
    order = {"active": 0, "backoff": 1, "warming": 2, "pending": 3, "paused": 4, "quarantined": 5, "retiring": 6}
    doc["variants"].sort(key=lambda v: (order.get(v["state"], 9), v["id"]))
    currencies = sorted({c for v in doc["variants"] for c in v["currency"].split(",") if c})
    totals = {c: (sum(v["pnl"] for v in doc["variants"] if v["currency"] == c),
                  sum(v["pnl_today"] for v in doc["variants"] if v["currency"] == c)) for c in currencies}
    return {**doc, "runner_line": describe(doc["runner"]), "guards": guards, "active_guards": active,
            "totals": totals}


def variant(ledger: Ledger, home: Path, variant_id: str) -> dict[str, Any] | None:
    from runner.cli.views import positions_view
    from runner.readmodels.prices import recorded_prices
    from runner.readmodels.variant_detail import variant_detail
    from runner.viz import charts

    d = variant_detail(ledger, variant_id)
    if d is None:
        return None
    pos = positions_view(ledger, variant_id)
    ccy = ",".join(sorted({p["currency"] for p in pos})) or "USD"
    insts = list(dict.fromkeys([*(f["instrument"] for f in d["fills"]), *(p["instrument"] for p in pos)]))[:4]
    prices = {s: pts for s in insts if (pts := recorded_prices(home, d["venue"], s))}
    d["positions"], d["currency"] = pos, ccy
    d["equity_svg"] = charts.equity_svg(d["equity"], f"PnL ({ccy})", width=6.5)
    d["price_svg"] = charts.price_fills_svg(prices, d["fills"], width=6.5)
    return d


def findings(ledger: Ledger, home: Path) -> dict[str, Any]:
    import json

    from runner.audit.store import all_findings
    from runner.readmodels.runbook import load_runbook
    from runner.web.markdown import render_markdown

    book = load_runbook(home)
    rows = sorted(all_findings(ledger), key=lambda r: (r.closed is not None, r.id or 0))
    out, sections = [], {}
    for r in rows[:200]:
        out.append({"id": r.id, "check": r.check, "severity": r.severity, "variant": r.variant, "summary": r.summary,
                    "runbook": r.runbook, "first_seen": r.first_seen, "last_seen": r.last_seen, "closed": r.closed,
                    "seen": r.seen, "evidence": json.dumps(json.loads(r.evidence or "{}"), indent=1)[:4000]})
        s = book.get(r.runbook) if r.runbook else None
        if s is not None and s.id not in sections:
            sections[s.id] = {"id": s.id, "title": s.title, "html": render_markdown(s.body)}
    return {"findings": out, "open": sum(1 for f in out if f["closed"] is None), "sections": list(sections.values())}


def dust(ledger: Ledger) -> dict[str, Any]:
    from runner.audit.dust import dust_plan, fragments

    return {"dust": [f.as_json() for f in fragments(ledger)], "plan": [p.as_json() for p in dust_plan(ledger)]}


def runs(ledger: Ledger, home: Path) -> dict[str, Any]:
    from runner.readmodels.backtests import backtest_runs

    return {"runs": backtest_runs(ledger, home=home)}


def run(ledger: Ledger, home: Path, run_id: str) -> dict[str, Any] | None:
    from runner.ledger.marks import latest_marks
    from runner.money import CENTS_QUOTE, unit_scale
    from runner.readmodels.backtests import backtest_run
    from runner.viz.report import render, report_doc, stored_run_prices

    r = backtest_run(ledger, run_id, home)
    if r is None:
        return None
    scale = {sym: float(unit_scale(q)) for (_a, sym), (q, _m, _t) in latest_marks(ledger).items()}
    got = stored_run_prices(ledger, r, home)
    prices, legs = got if got is not None else ({}, set())
    scale.update({leg: float(unit_scale(CENTS_QUOTE)) for leg in legs})
    return {"run": r, "html": render(report_doc(r, prices, scale), standalone=False)}
