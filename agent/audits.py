"""Audit findings for the agent: the stored open ones, and checks run now on a scratch copy.

``runner.audit.run.run_checks`` stores its findings and may act on an invariant breach
(quarantine, alerts). The agent must compute and never act: it runs them with ``act=False``
against a private copy of the SQLite ledger taken with SQLite's online backup, so even the
stored findings go to the copy, which is thrown away. The venues are only read.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from agent.context import AgentContext, sqlite_path
from runner.audit.findings import Finding
from runner.ledger.store import Ledger


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
    """Run audit checks on a scratch copy of the ledger; nothing is stored, nothing acts."""
    try:
        from runner.audit.run import run_checks
    except ImportError as exc:
        raise AuditUnavailable(f"audit checks are unavailable (runner.audit.run.run_checks): {exc}") from None
    with tempfile.TemporaryDirectory(prefix="runner-agent-") as tmp:
        scratch = _scratch_copy(ctx, Path(tmp) / "ledger.db")
        try:
            findings = run_checks(scratch, ctx.venues, ctx.home, names=names, act=False)
        except Exception as exc:
            raise AuditUnavailable(f"running the checks failed: {type(exc).__name__}: {exc}") from None
        finally:
            scratch.close()
    return [finding_dict(f) for f in findings]


def _scratch_copy(ctx: AgentContext, target: Path) -> Ledger:
    src_path = sqlite_path(ctx.ledger_url)
    if not ctx.ledger_url.startswith("sqlite"):
        raise AuditUnavailable(
            "checks run by the agent need a SQLite ledger (they run on a private copy); "
            "run `runner audit` yourself on PostgreSQL"
        )
    if src_path is not None and src_path.exists():
        src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return Ledger(f"sqlite:///{target}")  # creates whatever tables the copy lacks
