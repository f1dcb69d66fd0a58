"""Audit findings for the agent: the stored open ones, and checks evaluated now.

``runner audit`` stores its findings and may act on an invariant breach (quarantine,
alerts). The agent must compute and never act: it evaluates the checks
(``runner.audit.run.evaluate_checks``) on its own ledger, which is opened read-only at the
database level (SQLite ``query_only``, PostgreSQL read-only sessions), so nothing can be
stored even by mistake. The venues are only read.
"""

from __future__ import annotations

from typing import Any

from agent.context import AgentContext
from runner.audit.findings import Finding


class AuditUnavailable(RuntimeError):
    """The audit package (or a part the agent needs) is missing or failed: said, never hidden."""


def finding_dict(f: Finding) -> dict[str, Any]:
    from runner.audit.store import jsonable

    return {"check": f.check, "severity": f.severity.value, "variant": f.variant,
            "evidence": jsonable(f.evidence), "runbook": f.runbook, "summary": f.summary}


def open_findings(ctx: AgentContext) -> list[dict[str, Any]]:
    """Findings stored by earlier audit runs and not closed since."""
    try:
        from runner.audit.store import open_findings as stored
        from runner.audit.store import row_to_finding
    except ImportError as exc:
        raise AuditUnavailable(f"stored findings are unavailable: {exc}") from None
    try:
        rows = stored(ctx.ledger)
    except Exception as exc:  # a ledger from before the findings table: say so
        raise AuditUnavailable(f"cannot read stored findings: {exc}") from None
    out = []
    for r in rows:
        d = finding_dict(row_to_finding(r))
        d.update(first_seen=str(r.first_seen), last_seen=str(r.last_seen), seen=r.seen)
        out.append(d)
    return out


def run_checks_now(ctx: AgentContext, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Evaluate audit checks on the read-only ledger at the answer's time (``ctx.now``, the time
    the agent's own rules use); nothing is stored, nothing acts."""
    try:
        from runner.audit.run import evaluate_checks
    except ImportError as exc:
        raise AuditUnavailable(f"audit checks are unavailable (runner.audit.run.evaluate_checks): {exc}") from None
    try:
        findings, _done = evaluate_checks(ctx.ledger, ctx.venues, ctx.home, names=names, now=ctx.now)
    except Exception as exc:
        raise AuditUnavailable(f"running the checks failed: {type(exc).__name__}: {exc}") from None
    return [finding_dict(f) for f in findings]
