"""The agent's tools: read-only functions over the ledger, the audits and the runbook.

Each tool is a name, a description and a JSON schema (what Claude sees) plus a function of
the context and its arguments returning JSON-able data. None of them can place, cancel or
change anything: they call read models only, on a ledger opened read-only (``agent.context``),
and ``tests/agent/test_tools_readonly.py`` proves it against a full dump of the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent import audits, periods, readmodels
from agent.context import AgentContext
from runner.cli.views import events_view, fills_view, positions_view, status_view
from runner.ledger.types import json_default
from runner.readmodels import activity, groups

MAX_ROWS = 200


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict[str, Any]
    fn: Callable[..., Any]

    def spec(self) -> dict[str, Any]:
        """The tool as the Messages API wants it."""
        return {"name": self.name, "description": self.description, "input_schema": self.schema}


class ToolError(Exception):
    """A tool could not answer (bad argument, unknown id): returned to the model as an error."""


def _obj(props: dict[str, Any] | None = None, required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props or {}, "required": required or []}


_VARIANT = {"type": "string", "description": "variant id, e.g. MR_v13"}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_ROWS}
_SINCE = {"type": "string", "description": "1h, 30m, today, yesterday, HH:MM (UTC) or ISO-8601"}


def _known(ctx: AgentContext, variant: str | None) -> str | None:
    if variant and variant not in ctx.variant_ids():
        raise ToolError(f"unknown variant {variant!r}; known: {', '.join(ctx.variant_ids()) or 'none'}")
    return variant or None


def _limit(n: Any, default: int) -> int:
    return max(1, min(MAX_ROWS, int(n or default)))


def list_variants(ctx: AgentContext) -> dict[str, Any]:
    return status_view(ctx.ledger)


def transition_history(ctx: AgentContext, variant: str | None = None, limit: int = 50) -> dict[str, Any]:
    return {"events": events_view(ctx.ledger, _known(ctx, variant), _limit(limit, 50))}


def recent_orders(ctx: AgentContext, variant: str | None = None, limit: int = 50) -> dict[str, Any]:
    return {"orders": readmodels.orders_view(ctx, _known(ctx, variant), _limit(limit, 50))}


def recent_fills(ctx: AgentContext, variant: str | None = None, limit: int = 50) -> dict[str, Any]:
    return {"fills": fills_view(ctx.ledger, _known(ctx, variant), _limit(limit, 50))}


def positions(ctx: AgentContext, variant: str | None = None) -> dict[str, Any]:
    return {"positions": positions_view(ctx.ledger, _known(ctx, variant))}


def open_findings(ctx: AgentContext) -> dict[str, Any]:
    try:
        return {"findings": audits.open_findings(ctx)}
    except audits.AuditUnavailable as exc:
        raise ToolError(str(exc)) from None


def run_check(ctx: AgentContext, check: str | None = None) -> dict[str, Any]:
    try:
        found = audits.run_checks_now(ctx, [check] if check else None)
    except audits.AuditUnavailable as exc:
        raise ToolError(str(exc)) from None
    return {"findings": found, "note": "computed now from the ledger, opened read-only; nothing was stored or changed"}


def dust_report(ctx: AgentContext) -> dict[str, Any]:
    try:
        return readmodels.dust_report(ctx)
    except audits.AuditUnavailable as exc:
        raise ToolError(str(exc)) from None


def runbook_search(ctx: AgentContext, query: str) -> dict[str, Any]:
    return {"sections": ctx.runbook.search(str(query))}


def runbook_section(ctx: AgentContext, section_id: str) -> dict[str, Any]:
    s = ctx.runbook.get(str(section_id))
    if s is None:
        raise ToolError(f"no runbook section {section_id!r}; ids: {', '.join(ctx.runbook.ids())}")
    return {**s.summary(), "body": s.body}


def reconcile_dry_run(ctx: AgentContext) -> dict[str, Any]:
    try:
        return readmodels.reconcile_dry_run(ctx)
    except audits.AuditUnavailable as exc:
        raise ToolError(str(exc)) from None


def _since(ctx: AgentContext, since: str | None, default: timedelta) -> datetime:
    try:
        return periods.parse_since(since, ctx.now, default)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def variant_activity(ctx: AgentContext, variant: str, since: str | None = None, limit: int = 30) -> dict[str, Any]:
    v = _known(ctx, variant)
    assert v is not None
    return activity.activity(ctx.ledger, v, _since(ctx, since, timedelta(hours=1)), ctx.now, _limit(limit, 30))


def pnl(ctx: AgentContext, since: str | None = None) -> dict[str, Any]:
    rows = status_view(ctx.ledger)["variants"]
    today = {"variants": [{"variant": r["id"], "pnl_today": r["pnl_today"], "pnl_total": r["pnl"]} for r in rows],
             "total_today": sum(r["pnl_today"] for r in rows),
             "note": "marked PnL net of fees, in each account's currency; today = since 00:00 UTC"}
    if since and since.strip().lower() != "today":
        cur = {r["id"]: r["pnl"] for r in rows}
        today["since"] = activity.pnl_since(ctx.ledger, _since(ctx, since, timedelta(days=1)), list(cur), cur)
    return today


def open_positions(ctx: AgentContext, variant: str | None = None) -> dict[str, Any]:
    rows = [p for p in positions_view(ctx.ledger, _known(ctx, variant)) if p["qty"]]
    return {"positions": rows[:MAX_ROWS], "count": len(rows),
            "note": "marked at the last mid the runner recorded (mark); unrealized_pnl at that mark"}


def changes(ctx: AgentContext, since: str | None = None) -> dict[str, Any]:
    return activity.changes_since(ctx.ledger, _since(ctx, since, timedelta(days=1)), 30)


def guards(ctx: AgentContext) -> dict[str, Any]:
    from agent.facts import active_guards
    from runner.engine.guards import guard_rows

    try:
        rows = guard_rows(ctx.ledger)
    except Exception as exc:  # noqa: BLE001 - an old ledger without the table
        raise ToolError(f"guards are unavailable: {exc}") from None
    return {"guards": rows, "active": [g["name"] for g in active_guards(ctx)],
            "configured": ctx.config.guards.model_dump(),
            "note": "daily_drawdown (kill switch) is released only by `runner guard-release daily_drawdown`; "
                    "blackout and exposure caps lift by themselves"}


def group_balance(ctx: AgentContext, variant: str | None = None) -> dict[str, Any]:
    return groups.group_balance(ctx.ledger, ctx.home, _known(ctx, variant))


def lifecycle(ctx: AgentContext, variant: str | None = None, action: str | None = None) -> dict[str, Any]:
    if not variant:
        return {"table": groups.lifecycle_table()}
    v = _known(ctx, variant)
    state = next(r["state"] for r in status_view(ctx.ledger)["variants"] if r["id"] == v)
    acts = [action] if action else list(groups.ACTIONS)
    return {"variant": v, "state": state, "actions": [groups.what_if(state, a) for a in acts]}


TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("list_variants", "Every deployed variant: state, reason and detail of its last transition, since, "
         "position, PnL, open orders, last error; deploy errors; runner heartbeats; per account its stream "
         "state, request-budget use and, per instrument, where its bars come from (candles, rest, books), "
         "the last bar's close and whether the next is late.", _obj(), list_variants),
    Tool("transition_history", "Lifecycle transitions (from, to, trigger, reason class, detail, actor, ts), "
         "oldest first, of one variant or all.", _obj({"variant": _VARIANT, "limit": _LIMIT}), transition_history),
    Tool("recent_orders", "Recent orders with their current status and the detail of their last event "
         "(venue rejection text, ambiguous lookups).", _obj({"variant": _VARIANT, "limit": _LIMIT}), recent_orders),
    Tool("recent_fills", "Recent fills (qty, price, fee, liquidity, flag such as data_anomaly).",
         _obj({"variant": _VARIANT, "limit": _LIMIT}), recent_fills),
    Tool("positions", "Positions derived from fills, with PnL and a dust flag.", _obj({"variant": _VARIANT}),
         positions),
    Tool("open_findings", "Audit findings stored by earlier runs and still open.", _obj(), open_findings),
    Tool("run_check", "Run one audit check (or all) now, on the read-only ledger: computes, never "
         "acts. Checks: freshness, ledger_vs_venue, fills_vs_positions, retired_flat, groups_balanced, "
         "cost_sanity, orphan_orders.", _obj({"check": {"type": "string"}}), run_check),
    Tool("dust_report", "Positions too small to close with one order (venue, instrument, variant, qty, "
         "value, age), retired variants included, and the close-dust plan (not executed).", _obj(), dust_report),
    Tool("runbook_search", "Search the operator runbook; returns section ids, titles and snippets.",
         _obj({"query": {"type": "string"}}, ["query"]), runbook_search),
    Tool("runbook_section", "Read one runbook section by id.", _obj({"section_id": {"type": "string"}},
                                                                     ["section_id"]), runbook_section),
    Tool("reconcile_dry_run", "Compare venue and ledger per account: position differences, venue fills "
         "the ledger lacks. Reads the venues; changes nothing.", _obj(), reconcile_dry_run),
    Tool("variant_activity", "What one variant did over a period: orders by status, fills, fees, transitions, "
         "skip reasons. since: 1h, 30m, today, yesterday, HH:MM or ISO (default 1h).",
         _obj({"variant": _VARIANT, "since": _SINCE, "limit": _LIMIT}, ["variant"]), variant_activity),
    Tool("pnl", "Marked PnL per variant today (UTC) and in total; with since, also PnL since that time.",
         _obj({"since": _SINCE}), pnl),
    Tool("open_positions", "Open positions (non-zero) marked at the last recorded mid, with unrealized PnL.",
         _obj({"variant": _VARIANT}), open_positions),
    Tool("changes_since", "What changed since a time (default 24h): deploys, deploy errors, transitions, "
         "findings opened and closed, guard changes.", _obj({"since": _SINCE}), changes),
    Tool("guards", "Global guards (daily-loss kill switch, blackouts, exposure caps): state, reason, since, "
         "how each is released.", _obj(), guards),
    Tool("group_balance", "Multi-leg groups (funding pair, Kalshi YES/NO) per variant: net position per "
         "instrument and the unbalanced groups (in flight or not).", _obj({"variant": _VARIANT}), group_balance),
    Tool("lifecycle", "The lifecycle table; with a variant, what pause / resume / resume --clear / retire "
         "would do from its current state.", _obj({"variant": _VARIANT, "action": {"type": "string"}}), lifecycle),
]}


def call(ctx: AgentContext, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a tool by name; every failure comes back as ``{"error": ...}``, never raised."""
    tool = TOOLS.get(name)
    if tool is None:
        return {"error": f"no tool {name!r}; tools: {', '.join(TOOLS)}"}
    args = dict(args or {})
    allowed = set(tool.schema["properties"])
    unknown = set(args) - allowed
    if unknown:
        return {"error": f"{name}: unknown argument(s) {sorted(unknown)}; allowed: {sorted(allowed)}"}
    missing = [k for k in tool.schema["required"] if k not in args]
    if missing:
        return {"error": f"{name}: missing argument(s) {missing}"}
    try:
        return json.loads(json.dumps(tool.fn(ctx, **args), default=json_default))
    except ToolError as exc:
        return {"error": str(exc)}
    except (ValueError, TypeError) as exc:
        return {"error": f"{name}: {exc}"}
