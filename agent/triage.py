"""The deterministic triage (no key, no network): run the checks, read the ledger, map what is
wrong to runbook sections and the exact commands, and answer in the agent's shape.

It is also what ``runner ask`` falls back to without a key: the question picks the variant
and the topic, the triage supplies the facts.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import Any

from agent import audits, facts, readmodels, rules, safety
from agent.answer import Answer, Command, gate
from agent.context import AgentContext
from agent.rules import C, Issue
from runner.audit.run import settings_for
from runner.cli.views import events_view, fills_view, positions_view, status_view
from runner.errors import BadInputError
from runner.ledger.types import iso


def collect(ctx: AgentContext, variant: str | None = None, run_checks: bool = True
            ) -> tuple[list[Issue], list[str], list[dict[str, Any]]]:
    """Every issue the deployment shows (of one variant, plus deployment-wide ones), notes, and
    the findings evaluated now (the safety policy reads them too)."""
    notes: list[str] = []
    found: list[dict[str, Any]] = []
    status = status_view(ctx.ledger)
    rows = status["variants"]
    state = {r["id"]: r["state"] for r in rows}
    positions = positions_view(ctx.ledger)
    orders = readmodels.orders_view(ctx, None, 500)
    issues: list[Issue] = []
    for r in rows:
        issues += rules.state_issues(r, events_view(ctx.ledger, r["id"], 500))
    issues += rules.exposure_issues(state, positions)
    try:
        issues += rules.dust_issues(readmodels.dust_report(ctx)["dust"], state)
    except audits.AuditUnavailable as exc:
        notes.append(str(exc))
    issues += rules.order_issues(orders, readmodels.order_history(ctx))
    issues += rules.flagged_fill_issues(fills_view(ctx.ledger, None, 500))
    issues += rules.guard_issues(facts.active_guards(ctx))
    issues += _runner_issues(ctx, status)
    issues += _deploy_issues(ctx, status)
    if run_checks:
        try:
            found = audits.run_checks_now(ctx)
            issues += [rules.finding_issue(f, set(ctx.runbook.ids())) for f in found if rules.is_issue(f)]
        except audits.AuditUnavailable as exc:
            notes.append(f"audit checks not run: {exc}")
    if variant:
        issues = [i for i in issues if i.variant in (variant, None)]
    return _merge(issues), notes, found


def triage(ctx: AgentContext, variant: str | None = None, run_checks: bool = True) -> Answer:
    if variant and variant not in ctx.variant_ids():
        raise BadInputError(f"unknown variant {variant!r} (deployed: {', '.join(ctx.variant_ids()) or 'none'})")
    issues, notes, found = collect(ctx, variant, run_checks)
    return assemble(ctx, issues, notes, _healthy(ctx, variant), found)


def ask(ctx: AgentContext, question: str, run_checks: bool = True) -> Answer:
    """Offline answer to a free question (``agent.ask`` classifies it and answers from the tools)."""
    from agent.ask import answer

    return answer(ctx, question, run_checks)


def assemble(ctx: AgentContext, issues: list[Issue], notes: list[str], healthy: str,
             found: list[dict[str, Any]] | None = None) -> Answer:
    issues = sorted(issues, key=lambda i: -i.rank)
    commands: list[Command] = [c for i in issues for c in i.commands]
    sections: list[str] = []
    for i in issues:
        for s in i.sections:
            if s not in sections:
                if s in ctx.runbook:
                    sections.append(s)
                else:
                    notes.append(f"runbook section {s!r} is missing from {ctx.runbook.root}")
    if not issues:
        sections = ["status-matrix"] if "status-matrix" in ctx.runbook else []
        commands = [C("runner status", "the state of every variant")]
    kept, dropped = gate(commands, set(ctx.variant_ids()))
    known = facts.gather(ctx, found)
    known.loops &= {i.variant for i in issues if i.variant} or known.loops  # alternatives for the ones in view
    kept, unsafe = safety.apply(kept + safety.loop_alternatives(known), known)
    dropped += unsafe
    evidence: list[Any] = [e for i in issues for e in i.evidence]
    if notes:
        evidence += [{"kind": "note", "note": n} for n in notes]
    diagnosis = _diagnosis(issues) if issues else healthy
    return Answer(diagnosis, evidence, sections, kept, notes + dropped, "offline",
                  any(i.rank >= 1 for i in issues))


def _diagnosis(issues: list[Issue]) -> str:
    counts = rules.severity_counts(issues)
    head = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items(), key=lambda x: -rules.RANK.get(x[0], 1)))
    lines = "; ".join(i.title for i in issues[:5])
    more = f" (+{len(issues) - 5} more)" if len(issues) > 5 else ""
    return f"{len(issues)} issue(s) ({head}): {lines}{more}."


def _healthy(ctx: AgentContext, variant: str | None) -> str:
    rows = status_view(ctx.ledger)["variants"]
    if variant:
        r = next(r for r in rows if r["id"] == variant)
        return (f"Nothing wrong found for {variant}: it is {r['state']} since {r['since']} "
                f"(last reason {r['reason']}: {r['detail'] or '-'}).")
    if not rows:
        return "Nothing is deployed yet."
    states = ", ".join(f"{r['id']} {r['state']}" for r in rows)
    return f"Nothing wrong found: {states}."


def _runner_issues(ctx: AgentContext, status: dict[str, Any]) -> list[Issue]:
    live = [r["id"] for r in status["variants"] if r["state"] != "retired"]
    if not live:
        return []
    beats = ctx.ledger.heartbeats()
    limits = settings_for(ctx.home)  # one source of thresholds with the freshness audit
    limit = limits.heartbeat_stale_s
    if not beats:
        return [Issue("warning", None, "no runner has run on this ledger: nothing trades and open positions are "
                      "not managed", ["stale-data"], [{"kind": "heartbeat", "runners": []}],
                      [C("runner run", "start the runner (foreground)")])]
    newest = max(beats, key=lambda h: _aware(h.ts))
    age = (ctx.now - _aware(newest.ts)).total_seconds()
    ev = {"kind": "heartbeat", "runner": newest.runner_id, "ts": iso(newest.ts), "age_s": round(age, 1),
          "market_ts": iso(newest.market_ts), "stale_after_s": limit}
    if age > limit:
        return [Issue("warning", None, f"no runner heartbeat for {age:.0f}s: the runner is down, so open "
                      "positions are not managed", ["stale-data"], [ev],
                      [C("runner status", "the runners list shows the last heartbeat"),
                       C("runner run", "start the runner again")])]
    if newest.market_ts is not None and (ctx.now - _aware(newest.market_ts)).total_seconds() > limits.stale_data_s:
        return [Issue("warning", None, "the runner is alive but its market data is stale",
                      ["stale-data", "venue-outage-and-ambiguous-orders"], [ev],
                      [C("runner venues check", "is the market data source reachable?")])]
    return []


def _deploy_issues(ctx: AgentContext, status: dict[str, Any]) -> list[Issue]:
    out = [Issue("warning", None, f"{e['file']} did not deploy", ["deploy-errors"],
                 [{"kind": "deploy_error", **e}],
                 [C(f"runner validate {shlex.quote(e['file'])}", "file, line and key of what is wrong")])
           for e in status["errors"]]
    if not status["variants"]:
        files = sorted((ctx.home / "strategies.d").glob("*.y*ml")) if (ctx.home / "strategies.d").is_dir() else []
        if not files:
            out.append(Issue("info", None, "fresh deployment: no variant files and nothing deployed; `runner run` "
                             "creates the samples and runs them on the sim venue with no credentials",
                             ["status-matrix"], [{"kind": "files", "files": []}],
                             [C("runner run", "creates strategies.d/ and runbook/ from the samples and runs them")]))
        else:
            rel = [f"strategies.d/{f.name}" for f in files]
            out.append(Issue("info", None, f"fresh deployment: {len(files)} variant file(s) waiting, no runner has "
                             "deployed them yet", ["status-matrix"], [{"kind": "files", "files": rel}],
                             [C("runner validate " + " ".join(shlex.quote(r) for r in rel), "check them first"),
                              C("runner run", "deploy and run them (the samples run on sim, no credentials)")]))
    return out


def _merge(issues: list[Issue]) -> list[Issue]:
    """One issue per (variant, first section): a finding and a ledger rule seeing the same thing."""
    out: dict[tuple[str | None, str], Issue] = {}
    for i in issues:
        key = (i.variant, i.sections[0] if i.sections else i.title)
        old = out.get(key)
        if old is None:
            out[key] = i
            continue
        old.evidence += i.evidence
        old.commands += [c for c in i.commands if c not in old.commands]
        old.sections += [s for s in i.sections if s not in old.sections]
        if i.rank > old.rank:
            old.severity, old.title = i.severity, i.title
    return list(out.values())


def _aware(ts: datetime) -> datetime:
    from datetime import UTC

    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
