"""`runner ask` offline: classify the question, answer it from the tools, with evidence.

Classes: activity of a variant over a period, PnL, open positions, what changed since a
time, group balance, guards, does the ledger agree with the venue, is an operator action
safe now, a procedure, and otherwise an incident (the triage, scoped to the variant named).
Every answer also names what is open (findings, guards, quarantines): an answer never
reports health while something is open. Commands pass the same gate and safety policy as
the triage's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from agent import facts, periods, tools
from agent.answer import Answer, check_command, gate
from agent.context import AgentContext
from agent.matching import match_variants, not_here, topic_sections
from agent.rules import C, Issue
from agent.safety import apply, loop_alternatives
from runner.cli.views import status_view
from runner.readmodels.groups import what_if

CLASSES: list[tuple[str, str]] = [  # (class, pattern), first match wins
    ("procedure", r"routine|start[- ]of[- ]day|end[- ]of[- ]day|checklist|how (?:do|should|can) i\b|procedure|"
                  r"what do i do (?:every|each)|escalat|who (?:do i )?call|stop everything"),
    ("action", r"\b(?:can|could|should|may|is it (?:safe|ok|okay) to|safe to|ok to)\b.*\b(?:resume|pause|retire|"
               r"close[- ]?(?:the )?dust|clear|release|restart|unpause)"),
    ("drift", r"ledger.*(?:agree|match|drift|differ)|(?:agree|match).*venue|\bdrift"),
    ("runner", r"runner (?:is )?(?:alive|running|up|down|dead)|(?:is|are) (?:the )?runners? (?:alive|running|up|down)|"
               r"heartbeat"),
    ("guards", r"kill[- ]?switch|\bguards?\b|blackout|exposure cap|drawdown|why is nothing trading|"
               r"nothing (?:is )?trading"),
    ("balance", r"balanced|\bpair\b|\blegs?\b|yes/no|naked"),
    ("pnl", r"\bp&?l\b|\bpnl\b|profit|\bloss|\bmade\b|\bmake\b|\blost\b|\bearn|how much (?:did|have)"),
    ("positions", r"positions?\b|\bholding|\bexposed?\b|what (?:do|are) we hold"),
    ("change", r"changed?|what'?s new|what happened since|since (?:yesterday|last)|overnight"),
    ("activity", r"\bwhat did\b|\bdo(?:ing)? in the\b|\bdoing\b|activity|\borders?\b|\bfills?\b|\btrades?\b|\btraded\b|"
                 r"last (?:\d+ )?(?:hour|minute|min|day)"),
]


def classify(question: str) -> str:
    q = question.lower()
    return next((cls for cls, pat in CLASSES if re.search(pat, q)), "incident")


def answer(ctx: AgentContext, question: str, run_checks: bool = True) -> Answer:
    from agent.triage import _healthy, assemble, collect

    named = match_variants(ctx, question)
    variant = named[0] if len(named) == 1 else None
    cls = classify(question)
    missing = not_here(ctx, question) if cls not in ("procedure", "guards", "runner", "drift") else None
    if missing and ctx.variant_ids():
        issues, notes, found = collect(ctx, None, run_checks)
        deployed = ", ".join(ctx.variant_ids()) or "none"
        a = Answer(f"{missing} (deployed: {deployed}): nothing to answer about it.",
                   [{"kind": "not_deployed", "detail": missing, "deployed": ctx.variant_ids()}], ["status-matrix"],
                   [C("runner status", "every deployed variant, its kind and state")])
        return finish(ctx, a, issues, notes, found)
    issues, notes, found = collect(ctx, variant if cls == "incident" else None, run_checks)
    if cls == "incident":
        a = assemble(ctx, issues, notes, _healthy(ctx, variant), found)
        if not issues:
            a.runbook += [s for s in topic_sections(ctx, question) if s not in a.runbook]
            if variant:  # "why is X not trading?" with nothing wrong: what it did and why it skipped
                act = _activity(ctx, "in the last hour", variant, issues, found)
                a.diagnosis += " " + act.diagnosis.rstrip(".") + "."
                a.evidence += act.evidence
                a.commands += act.commands[:1]
        return a
    handler: Callable[..., Answer] = HANDLERS[cls]
    a = handler(ctx, question, variant, issues, found)
    return finish(ctx, a, issues, notes, found)


def finish(ctx: AgentContext, a: Answer, issues: list[Issue], notes: list[str],
           found: list[dict[str, Any]]) -> Answer:
    """Name what is open, gate the commands, and mark the answer a problem when something is."""
    open_ = sorted([i for i in issues if i.rank >= 1 or any(e.get("kind") == "guard" for e in i.evidence)],
                   key=lambda i: -i.rank)
    if open_:
        titles = "; ".join(i.title for i in open_[:4]) + (f" (+{len(open_) - 4} more)" if len(open_) > 4 else "")
        a.diagnosis = a.diagnosis.rstrip(". ") + f". Also open: {titles}. `runner triage` for the procedure."
        a.evidence += [{"kind": "open", "severity": i.severity, "variant": i.variant, "title": i.title}
                       for i in open_[:10]]
        a.commands.append(C("runner triage", "what is open, the runbook sections and the commands in order"))
        a.problem = a.problem or any(i.rank >= 1 for i in open_)
    known = facts.gather(ctx, found)
    kept, dropped = gate(a.commands, set(ctx.variant_ids()))
    kept, unsafe = apply(kept, known)
    a.commands, a.notes = kept, a.notes + notes + dropped + unsafe
    a.runbook = [s for s in dict.fromkeys(a.runbook) if s in ctx.runbook]
    return a


# --- handlers ---------------------------------------------------------------------------
def _activity(ctx: AgentContext, question: str, variant: str | None, _i: list[Issue], _f: Any) -> Answer:
    since, words = periods.period_in(question, ctx.now, timedelta(hours=1))
    targets = [variant] if variant else match_variants(ctx, question) or ctx.variant_ids()
    parts, evidence = [], []
    for v in targets[:6]:
        act = tools.call(ctx, "variant_activity", {"variant": v, "since": since.isoformat()})
        if "error" in act:
            evidence.append({"kind": "error", "error": act["error"]})
            continue
        o, f, t = act["orders"], act["fills"], act["transitions"]
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(o["by_status"].items())) or "none"
        moves = "; ".join(f"{r['from']} -> {r['to']} ({r['reason']})" for r in t["rows"][-3:]) or "no transition"
        skips = ", ".join(f"{k} {n}" for k, n in sorted(act["skips"]["by_reason"].items(), key=lambda x: -x[1])[:3])
        parts.append(f"{v} {words}: {o['count']} order(s) ({statuses}), {f['count']} fill(s), fees "
                     f"{f['fees']:.2f}; {moves}" + (f"; skipped: {skips}" if skips else ""))
        evidence.append({"kind": "activity", "variant": v, "since": act["since"], "orders": o["count"],
                         "by_status": o["by_status"], "fills": f["count"], "fees": f["fees"],
                         "transitions": t["rows"][-5:], "skips": act["skips"]["by_reason"],
                         "last_orders": o["rows"][-5:], "last_fills": f["rows"][-3:]})
    cmds = [C(f"runner events {v}", "every transition with its detail") for v in targets[:2]]
    cmds += [C(f"runner fills --variant {v}", "its fills, oldest first") for v in targets[:2]]
    return Answer(" ".join(parts) or "No variant is deployed.", evidence, ["status-matrix"], cmds)


def _pnl(ctx: AgentContext, question: str, variant: str | None, _i: list[Issue], _f: Any) -> Answer:
    since, words = periods.period_in(question, ctx.now, timedelta(days=0))
    today = since >= periods.midnight(ctx.now) and "last" not in question.lower()
    out = tools.call(ctx, "pnl", {} if today else {"since": since.isoformat()})
    rows = [r for r in out["variants"] if not variant or r["variant"] == variant]
    if today:
        lines = ", ".join(f"{r['variant']} {r['pnl_today']:+.2f}" for r in rows)
        total = sum(r["pnl_today"] for r in rows)
        text = f"PnL today (UTC, marked, net of fees): {total:+.2f}" + (f" ({lines})" if lines else "") + "."
    else:
        srows = [r for r in out["since"]["variants"] if not variant or r["variant"] == variant]
        lines = ", ".join(f"{r['variant']} {r['pnl']:+.2f}" for r in srows)
        text = f"PnL {words} (marked, net of fees): {sum(r['pnl'] for r in srows):+.2f} ({lines})."
    return Answer(text + " Amounts are in each account's currency.", [{"kind": "pnl", **out}], ["status-matrix"],
                  [C("runner status", "PnL and today's PnL per variant"),
                   C("runner positions" + (f" --variant {variant}" if variant else ""), "realized and unrealized")])


def _positions(ctx: AgentContext, question: str, variant: str | None, _i: list[Issue], _f: Any) -> Answer:
    out = tools.call(ctx, "open_positions", {"variant": variant} if variant else {})
    rows = out.get("positions", [])
    if re.search(r"should(?:n'?t| not)? be flat|retired|invisible|naked", question.lower()):
        return _exposure(ctx, rows)
    if not rows:
        text = f"No open position{' for ' + variant if variant else ''}."
    else:
        text = f"{len(rows)} open position(s): " + "; ".join(
            f"{p['variant']} {p['qty']:g} {p['instrument']} @ {p['avg_price']:g} (mark "
            f"{p['mark'] if p['mark'] is not None else 'none'}, unrealized {p['unrealized_pnl']:+.2f}"
            f"{', dust' if p['dust'] else ''})" for p in rows[:8]) + ("; ..." if len(rows) > 8 else "") + "."
    return Answer(text, [{"kind": "position", **p} for p in rows[:20]], ["status-matrix"],
                  [C("runner positions" + (f" --variant {variant}" if variant else ""), "every position with PnL")])


def _exposure(ctx: AgentContext, rows: list[dict[str, Any]]) -> Answer:
    """Is anything exposed that should be flat: retired variants beyond dust, unbalanced groups."""
    states = {r["id"]: r["state"] for r in status_view(ctx.ledger)["variants"]}
    naked = [p for p in rows if states.get(p["variant"]) in ("retired", "retiring") and not p["dust"]]
    groups = tools.call(ctx, "group_balance", {}).get("variants", [])
    bad = [g for g in groups if not g["balanced"]]
    if not naked and not bad:
        return Answer("No. No retired variant holds more than dust and no pair is unbalanced.",
                      [{"kind": "exposure", "retired_positions": [], "unbalanced_groups": []}], ["invisible-exposure"],
                      [C("runner positions", "every position")])
    text = "Yes: " + "; ".join([f"{p['variant']} ({states[p['variant']]}) holds {p['qty']:g} {p['instrument']}"
                                for p in naked] + [f"{g['variant']} has an unbalanced group" for g in bad]) + "."
    cmds = [C(f"runner positions --variant {p['variant']}", "the exposure") for p in naked]
    cmds += [C("runner reconcile", "make sure the ledger has every venue fill"),
             C("runner audit --check retired_flat", "confirm (reports only)")] if naked else []
    cmds += [C(f"runner positions --variant {g['variant']}", "which leg is naked") for g in bad]
    return Answer(text, [{"kind": "position", **p} for p in naked] + [{"kind": "groups", **g} for g in bad],
                  (["invisible-exposure", "proc-reconcile"] if naked else []) + (["unbalanced-pair"] if bad else []),
                  cmds, problem=True)


def _change(ctx: AgentContext, question: str, _v: str | None, _i: list[Issue], _f: Any) -> Answer:
    since, words = periods.period_in(question, ctx.now, timedelta(days=1))
    ch = tools.call(ctx, "changes_since", {"since": since.isoformat()})
    bits = []
    for key, label in (("deploys", "deploy(s)"), ("deploy_errors", "deploy error(s)"), ("transitions", "transition(s)"),
                       ("findings_opened", "finding(s) opened"), ("findings_closed", "finding(s) closed"),
                       ("guards", "guard change(s)")):
        if ch[key]["count"]:
            bits.append(f"{ch[key]['count']} {label}")
    trans = ch["transitions"]["rows"]
    detail = "; ".join(f"{t['variant']} {t['from']} -> {t['to']} ({t['reason']}, {t['actor']})"
                       for t in trans[-5:] if t["from"] not in ("pending", "warming"))
    text = (f"Since {ch['since']} ({words}): " + (", ".join(bits) if bits else "nothing changed") + "."
            + (f" Latest: {detail}." if detail else ""))
    ev = [{"kind": "changes", **{k: v["rows"][-10:] for k, v in ch.items() if isinstance(v, dict)}}]
    return Answer(text, ev, ["status-matrix"], [C("runner events", "every transition with its detail"),
                                                 C("runner audit", "findings now (reports only)")])


def _balance(ctx: AgentContext, question: str, variant: str | None, _i: list[Issue], _f: Any) -> Answer:
    out = tools.call(ctx, "group_balance", {"variant": variant} if variant else {})
    rows = out.get("variants", [])
    if not rows:
        return Answer(f"{variant or 'No variant'} has no multi-leg group: nothing to balance.",
                      [out], ["unbalanced-pair"],
                      [C("runner positions" + (f" --variant {variant}" if variant else ""), "its positions")])
    parts, cmds = [], []
    for r in rows:
        legs = ", ".join(f"{k} {q:g}" for k, q in r["positions"].items()) or "flat"
        bad = [u for u in r["unbalanced"] if not u["in_flight"]]
        flight = [u for u in r["unbalanced"] if u["in_flight"]]
        if bad:
            parts.append(f"{r['variant']} is NOT balanced: {bad[-1]['summary']} (positions: {legs})")
            cmds += [C(f"runner positions --variant {r['variant']}", "which leg is naked"),
                     C(f"runner pause {r['variant']}", "no new pair opens while you look; exits keep running"),
                     C("runner audit --check groups_balanced", "confirm once the leg is closed")]
        else:
            parts.append(f"{r['variant']} is balanced: {r['groups']} group(s), legs netted per instrument "
                         f"({legs})" + (f"; {len(flight)} group(s) still in flight" if flight else ""))
            cmds.append(C(f"runner positions --variant {r['variant']}", "the legs per instrument"))
    return Answer(". ".join(parts) + ".", [{"kind": "groups", **r} for r in rows], ["unbalanced-pair"], cmds,
                  problem=any(not u["in_flight"] for r in rows for u in r["unbalanced"]))


def _guards(ctx: AgentContext, _q: str, _v: str | None, _i: list[Issue], _f: Any) -> Answer:
    out = tools.call(ctx, "guards", {})
    active = [g for g in out.get("guards", []) if g.get("active")]
    if active:
        text = "Active guard(s): " + "; ".join(f"{g['name']} ({g['reason']}, release: {g['release']})"
                                              for g in active) + "."
    else:
        conf = [k for k, v in out.get("configured", {}).items() if v]
        text = "No guard is active" + (f" (configured: {', '.join(conf)})." if conf else "; none is configured.")
    return Answer(text, [{"kind": "guard", **g} for g in out.get("guards", [])],
                  ["guards"] + (["guard-kill-switch"] if any(g["name"] == "daily_drawdown" for g in active) else []),
                  [C("runner guards", "every guard, why and since when")], problem=bool(active))


def _drift(ctx: AgentContext, _q: str, _v: str | None, _i: list[Issue], found: list[dict[str, Any]]) -> Answer:
    stored = tools.call(ctx, "open_findings", {}).get("findings", [])
    drifts = [f for f in found + stored if f.get("check") in facts.DRIFT_CHECKS and f.get("severity") != "info"]
    seen, uniq = set(), []
    for f in drifts:
        key = (f["check"], f.get("summary"))
        if key not in seen:
            seen.add(key)
            uniq.append(f)
    if uniq:
        text = (f"No: {len(uniq)} drift finding(s) open: " + "; ".join(f"{f['severity']} {f['check']}: {f['summary']}"
                                                                  for f in uniq[:4]) + ".")
        return Answer(text, [{"kind": "finding", **f} for f in uniq[:10]], ["ledger-vs-venue", "proc-reconcile"],
                      [C("runner audit --check ledger_vs_venue", "the drift now, per instrument (reports only)"),
                       C("runner reconcile", "adopt the venue fills the ledger missed; never sends an order"),
                       C("runner audit --check ledger_vs_venue", "confirm it is gone")], problem=True)
    return Answer("Yes: the ledger agrees with the venues (ledger_vs_venue, fills_vs_positions and retired_flat "
                  "find nothing now, and no such finding is stored open).", [{"kind": "checks", "drift": []}],
                  ["ledger-vs-venue"], [C("runner audit --check ledger_vs_venue", "the same check, recorded")])


_ACTION_WORDS = [("resume --clear", r"clear|resume .*again|again.*resume|unquarantin"), ("resume", r"resume|unpause"),
                 ("pause", r"pause"), ("retire", r"retire"), ("close-dust", r"close[- ]?(?:the )?dust|dust"),
                 ("release", r"release|kill[- ]?switch"), ("run", r"restart|start the runner")]


def _action(ctx: AgentContext, question: str, variant: str | None, _i: list[Issue],
            found: list[dict[str, Any]]) -> Answer:
    q = question.lower()
    action = next((a for a, pat in _ACTION_WORDS if re.search(pat, q)), "resume")
    known = facts.gather(ctx, found)
    if action in ("close-dust", "release", "run"):
        return _global_action(action, known)
    if not variant:
        return Answer(f"Which variant? Name one of: {', '.join(ctx.variant_ids()) or 'none deployed'}.", [],
                      ["status-matrix"], [C("runner status", "every variant and its state")])
    state = known.states.get(variant, "unknown")
    if action == "resume" and state == "quarantined":
        action = "resume --clear"
    rule = what_if(state, action)
    ev: list[Any] = [{"kind": "lifecycle", "variant": variant, **rule}]
    if action == "resume --clear" and variant in known.loops:
        text = (f"No. {variant} is in an auto-resume loop: it was quarantined, cleared and quarantined again, so "
                "the cause was never fixed. Clearing again repeats it. Read why, fix it in a new version, or retire.")
        return Answer(text, ev, ["auto-resume-loop", "proc-clear-quarantine"],
                      [C(f"runner events {variant}", "every quarantine and its reason")] + loop_alternatives(known)[1:],
                      problem=True)
    if not rule["allowed"]:
        hint = {"quarantined": f"it is quarantined: fix the cause, then `runner resume {variant} --clear`",
                "active": "it is already active", "retired": "it is retired for good: deploy a new version",
                "backoff": "it is backing off and resumes by itself"}.get(state, rule["why"])
        return Answer(f"No: `{action}` from {state} is refused by the lifecycle table; {hint}.", ev,
                      ["status-matrix"], [C(f"runner events {variant}", "how it got here")])
    cmd = f"runner {action.split()[0]} {variant}" + (" --clear" if action == "resume --clear" else "")
    text = f"Yes: {variant} is {state}; `{cmd}` takes it to {rule['result']} (lifecycle table)."
    if not known.runner_alive:
        text += " But no runner is running: nothing happens until `runner run` starts one."
    if action == "resume --clear":
        text += " Only once the cause of the quarantine is fixed (read the events first)."
    sections = {"pause": ["proc-pause"], "retire": ["proc-retire"], "resume": ["proc-pause"],
                "resume --clear": ["proc-clear-quarantine"]}[action]
    return Answer(text, ev, sections, [C(f"runner events {variant}", "why it is " + state),
                                       C(cmd, f"{state} -> {rule['result']}")])


def _global_action(action: str, known: facts.Facts) -> Answer:
    if action == "close-dust":
        drift = known.drift & known.dust if known.dust else known.drift
        if drift:
            return Answer(f"No: a ledger/venue drift is open on {', '.join(sorted(drift))}; closing dust there can "
                          "make it worse. Reconcile first.", [{"kind": "drift", "instruments": sorted(drift)}],
                          ["ledger-vs-venue", "proc-reconcile", "proc-close-dust"],
                          [C("runner reconcile", "adopt missed venue fills first"),
                           C("runner audit --check ledger_vs_venue", "confirm the drift is gone")], problem=True)
        if not known.dust:
            return Answer("There is no dust to close.", [], ["proc-close-dust"], [C("runner dust", "confirm")])
        return Answer(f"Yes, after reading the plan: dust on {', '.join(sorted(known.dust))} and no drift open.",
                      [{"kind": "dust", "instruments": sorted(known.dust)}], ["proc-close-dust"],
                      [C("runner close-dust", "prints the plan, changes nothing"),
                       C("runner close-dust --confirm", "executes exactly that plan")])
    if action == "release":
        if "daily_drawdown" not in known.guards:
            return Answer("No: the kill switch (daily_drawdown) is not tripped; nothing to release.", [],
                          ["guards", "guard-kill-switch"], [C("runner guards", "every guard")])
        return Answer("Only once the day's loss is understood: the kill switch holds every entry until released, "
                      "and it does not re-trip on the same loss.", [{"kind": "guard", "guard": "daily_drawdown"}],
                      ["guard-kill-switch"], [C("runner status", "today's PnL per variant"),
                                               C("runner positions", "what is open"),
                                               C("runner guard-release daily_drawdown", "after the review")],
                      problem=True)
    if known.runner_alive:
        return Answer("No need: a runner is alive on this ledger (fresh heartbeat).", [], ["stale-data"],
                      [C("runner status", "its host, pid and heartbeat age")])
    return Answer("Yes: no runner has a fresh heartbeat, so open positions are not managed.", [], ["stale-data"],
                  [C("runner status", "the last heartbeat"), C("runner run", "start the runner")], problem=True)


def _procedure(ctx: AgentContext, question: str, _v: str | None, _i: list[Issue], _f: Any) -> Answer:
    q = question.lower()
    if re.search(r"start[- ]of[- ]day|routine|checklist|morning", q):
        ids = ["proc-start-of-day"]
    elif re.search(r"escalat|call|stop everything", q):
        ids = ["escalation"]
    else:
        ids = [str(h["id"]) for h in ctx.runbook.search(question, limit=2)]
    ids = [i for i in ids if i in ctx.runbook] or [str(h["id"]) for h in ctx.runbook.search(question, limit=2)]
    if not ids:
        return Answer("The runbook has no section on that.", [], [], [C("runner status", "the state of everything")])
    sec = ctx.runbook.get(ids[0])
    assert sec is not None
    exact = [m for m in dict.fromkeys(re.findall(r"`(runner [^`]+)`", sec.body))
             if check_command(m, set(ctx.variant_ids())) is None]  # the runbook's placeholders are not commands
    cmds = [C(m, "from runbook " + sec.id) for m in exact][:8]
    steps = [ln.strip() for ln in sec.body.splitlines() if re.match(r"\s*(?:\d+\.|-)\s", ln)][:8]
    return Answer(f"{sec.title} (runbook {sec.id}): " + " ".join(steps)[:600], [{"kind": "runbook", "id": sec.id}],
                  ids, cmds)


def _runner(ctx: AgentContext, _q: str, _v: str | None, _i: list[Issue], _f: Any) -> Answer:
    from runner.audit.run import settings_for

    limit = settings_for(ctx.home).heartbeat_stale_s
    beats = sorted(ctx.ledger.heartbeats(), key=lambda h: periods.aware(h.ts), reverse=True)
    ev = [{"kind": "heartbeat", "runner": h.runner_id, "host": h.host, "pid": h.pid,
           "age_s": round((ctx.now - periods.aware(h.ts)).total_seconds(), 1)} for h in beats[:5]]
    if not beats:
        return Answer("No: no runner has ever run on this ledger; nothing trades and open positions are not "
                      "managed.", ev, ["stale-data"], [C("runner status", "the runners list"),
                                                       C("runner run", "start the runner")], problem=True)
    alive = [e for e in ev if e["age_s"] <= limit]
    if alive:
        e = alive[0]
        return Answer(f"Yes: runner {e['runner']} (host {e['host']}, pid {e['pid']}) sent a heartbeat {e['age_s']:g}s "
                      f"ago (stale after {limit:g}s).", ev, ["stale-data"],
                      [C("runner status", "runners with host, pid and heartbeat age")])
    e = ev[0]
    return Answer(f"No: the last heartbeat (runner {e['runner']}, host {e['host']}) is {e['age_s']:g}s old, beyond "
                  f"{limit:g}s: the runner is down and open positions are not managed.", ev, ["stale-data"],
                  [C("runner status", "the last heartbeat"), C("runner run", "start the runner again")], problem=True)


HANDLERS: dict[str, Callable[..., Answer]] = {
    "runner": _runner,
    "activity": _activity, "pnl": _pnl, "positions": _positions, "change": _change, "balance": _balance,
    "guards": _guards, "drift": _drift, "action": _action, "procedure": _procedure,
}
