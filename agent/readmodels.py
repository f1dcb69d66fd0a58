"""Read models the tools return beyond the CLI's views: orders with status, dust, reconcile plan.

All of them read. Dust and the reconcile dry-run reuse the audit package's pure functions,
so the agent reports exactly what `runner dust` and `runner reconcile` would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from agent.audits import AuditUnavailable
from agent.context import AgentContext
from runner.errors import BadInputError, RunnerError
from runner.ledger.models import MAIN_RUN
from runner.ledger.store import T_EVENTS, T_ORDERS
from runner.ledger.types import iso


def orders_view(ctx: AgentContext, variant: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Recent orders with their status (the last event) and that event's detail."""
    last = (select(T_EVENTS.c.client_order_id, func.max(T_EVENTS.c.id).label("last_id"))
            .group_by(T_EVENTS.c.client_order_id).subquery())
    q = (select(T_ORDERS, T_EVENTS.c.status, T_EVENTS.c.detail.label("status_detail"),
                T_EVENTS.c.ts.label("status_ts"))
         .join(last, last.c.client_order_id == T_ORDERS.c.client_order_id)
         .join(T_EVENTS, T_EVENTS.c.id == last.c.last_id)
         .where(T_ORDERS.c.run_id == MAIN_RUN).order_by(T_ORDERS.c.id.desc()).limit(limit))
    if variant:
        q = q.where(T_ORDERS.c.variant == variant)
    with ctx.ledger.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [
        {"variant": r["variant"], "order_id": r["client_order_id"], "instrument": r["instrument"], "side": r["side"],
         "qty": float(r["qty"]), "price": None if r["price"] is None else float(r["price"]), "tif": r["tif"],
         "purpose": r["purpose"], "group": r["group_id"], "status": r["status"], "detail": r["status_detail"],
         "created": iso(r["created"]), "status_ts": iso(r["status_ts"])}
        for r in reversed(rows)
    ]


def order_history(ctx: AgentContext, variant: str | None = None) -> dict[str, list[str]]:
    """Every status each order went through (to spot ambiguous lookups after the fact)."""
    q = select(T_EVENTS.c.client_order_id, T_EVENTS.c.status).join(
        T_ORDERS, T_ORDERS.c.client_order_id == T_EVENTS.c.client_order_id
    ).where(T_ORDERS.c.run_id == MAIN_RUN).order_by(T_EVENTS.c.id)
    if variant:
        q = q.where(T_ORDERS.c.variant == variant)
    out: dict[str, list[str]] = {}
    with ctx.ledger.engine.connect() as conn:
        for cid, status in conn.execute(q):
            out.setdefault(cid, []).append(status)
    return out


def dust_report(ctx: AgentContext) -> dict[str, Any]:
    """Every dust fragment (retired variants included) and the clean-up plan; nothing is sent."""
    try:
        from runner.audit.dust import dust_plan, fragments
    except ImportError as exc:
        raise AuditUnavailable(f"the dust report is unavailable: {exc}") from None
    return {"dust": [f.as_json() for f in fragments(ctx.ledger, ctx.now)],
            "plan": [p.as_json() for p in dust_plan(ctx.ledger)]}


def reconcile_dry_run(ctx: AgentContext) -> dict[str, Any]:
    """What `runner reconcile` would adopt and report, computed with its own pure pieces.

    The ledger is only read (it is opened read-only) and adopted fills are listed, not applied.
    """
    try:
        from runner.audit.inputs import adapter_factory, gather_venues, read_fills, read_ledger
        from runner.audit.reconcile import adopt
        from runner.audit.run import settings_for
        from runner.audit.venue_checks import ledger_vs_venue, orphan_orders
    except ImportError as exc:
        raise AuditUnavailable(f"the reconcile dry-run is unavailable: {exc}") from None
    from agent.audits import finding_dict

    led = read_ledger(ctx.ledger, settings_for(ctx.home))
    make = adapter_factory(ctx.venues, ctx.home)
    would_adopt, findings = [], []
    for account in sorted(led.accounts()):
        if account not in ctx.venues.accounts:
            continue
        try:
            ad = make(account)
        except Exception as exc:  # noqa: BLE001 - a venue that cannot connect is reported
            findings.append({"check": "reconcile", "severity": "warning", "account": account,
                             "summary": f"cannot connect: {type(exc).__name__}: {exc}"})
            continue
        try:
            fills = list(read_fills(ad, None))
        except (RunnerError, BadInputError, OSError) as exc:
            findings.append({"check": "reconcile", "severity": "warning", "account": account,
                             "summary": f"cannot read fills: {type(exc).__name__}: {exc}"})
            continue
        finally:
            ad.close()
        new, unexplained = adopt(led, account, fills)
        would_adopt += [{"fill_id": f.fill_key, "variant": f.variant, "instrument": f.instrument, "side": f.side,
                         "qty": f.qty, "price": f.price, "order_id": f.client_order_id} for f in new]
        findings += [finding_dict(f) for f in unexplained]
    venues = gather_venues(led, ctx.venues, make)
    findings += [finding_dict(f) for f in ledger_vs_venue(led, venues) + orphan_orders(led, venues)]
    return {"would_adopt": would_adopt, "findings": findings,
            "note": "dry run: nothing was adopted, stored or sent; `runner reconcile` does it"}
