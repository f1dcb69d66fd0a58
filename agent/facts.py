"""The facts the safety policy judges commands by, read from the deployment (read-only).

Gathered once per answer: lifecycle states, auto-resume loops, open drifts (stored findings
and the checks just evaluated), dust instruments, active guards, whether a runner is alive.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from agent import audits, readmodels
from agent.context import AgentContext
from agent.rules import loop_count
from agent.safety import Facts, hostile_commands
from runner.cli.views import events_view, status_view

DRIFT_CHECKS = ("ledger_vs_venue", "retired_flat", "fills_vs_positions")


def runner_alive(ctx: AgentContext) -> bool:
    from runner.audit.run import settings_for

    limit = settings_for(ctx.home).heartbeat_stale_s
    for h in ctx.ledger.heartbeats():
        ts = h.ts if h.ts.tzinfo else h.ts.replace(tzinfo=UTC)
        if (ctx.now - ts).total_seconds() <= limit:
            return True
    return False


def active_guards(ctx: AgentContext) -> list[dict[str, Any]]:
    from runner.engine.guards import guard_rows

    try:
        return [g for g in guard_rows(ctx.ledger) if g.get("active")]
    except Exception:  # noqa: BLE001 - a ledger from before the guards table has none
        return []


def gather(ctx: AgentContext, findings: list[dict[str, Any]] | None = None,
           untrusted: list[str] | None = None) -> Facts:
    rows = status_view(ctx.ledger)["variants"]
    states = {r["id"]: r["state"] for r in rows}
    loops = {r["id"] for r in rows if loop_count(events_view(ctx.ledger, r["id"], 500))}
    found = list(findings or [])
    try:
        found += audits.open_findings(ctx)
    except audits.AuditUnavailable:
        pass
    drift = {str(f["evidence"].get("instrument")) for f in found
             if f.get("check") in DRIFT_CHECKS and isinstance(f.get("evidence"), dict)
             and f["evidence"].get("instrument") and f.get("severity") != "info"}
    try:
        dust = {str(d["instrument"]) for d in readmodels.dust_report(ctx)["dust"]}
    except audits.AuditUnavailable:
        dust = set()
    guards = {str(g["name"]): str(g.get("release") or "") for g in active_guards(ctx)}
    return Facts(states, loops, drift, dust, guards, runner_alive(ctx), hostile_commands(untrusted or []))
