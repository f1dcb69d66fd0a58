"""Offline triage rules: what the ledger shows, mapped to runbook sections and exact commands.

Each rule is a plain function of read models (no I/O of its own) returning ``Issue`` values;
``agent.triage`` gathers the inputs and assembles the answer. The rules mirror the runbook:
a rule that cites a section suggests the commands that section tells the operator to run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.answer import Command
from agent.safety import LOOP_MIN
from runner.lifecycle import State, Trigger

RANK = {"info": 0, "pending": 1, "warning": 1, "critical": 2}  # pending: a breach awaiting its second reading

CHECK_SECTION = {
    "fills_vs_positions": "fills-vs-positions", "ledger_vs_venue": "ledger-vs-venue",
    "retired_flat": "invisible-exposure", "groups_balanced": "unbalanced-pair", "cost_sanity": "cost-anomaly",
    "orphan_orders": "orphan-orders", "freshness": "stale-data",
}


@dataclass
class Issue:
    severity: str  # info | warning | critical
    variant: str | None
    title: str
    sections: list[str]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return RANK.get(self.severity, 1)


def C(command: str, why: str) -> Command:  # noqa: N802 - reads as a table row below
    return Command(command, why)


def _events(v: str) -> Command:
    return C(f"runner events {v}", "read the transition history: the detail says what happened")


def _clear(v: str, after: str) -> Command:
    return C(f"runner resume {v} --clear", f"only after {after}: leaves quarantine and resets its counters")


# --- lifecycle states -----------------------------------------------------------------------
def state_issues(row: dict[str, Any], history: list[dict[str, Any]]) -> list[Issue]:
    v, state, reason, detail = row["id"], row["state"], row["reason"], row.get("detail") or ""
    ev = {"variant": v, "kind": "state", "state": state, "reason": reason, "detail": detail, "since": row["since"]}
    loops = loop_count(history)
    out: list[Issue] = []
    if state == State.QUARANTINED:
        out.append(_quarantined(v, reason, detail, ev))
    elif state == State.BACKOFF:
        out.append(Issue("warning", v, f"{v} is in backoff after a transient venue error; it resumes by itself",
                         ["venue-outage-and-ambiguous-orders", "status-matrix"], [ev],
                         [C("runner venues check", "is the venue reachable and are the credentials good?"),
                          _events(v)]))
    elif state == State.PAUSED:
        out.append(Issue("info", v, f"{v} is paused by an operator (exits still run)", ["proc-pause"], [ev],
                         [_events(v), C(f"runner resume {v}", "when the reason for the pause is gone")]))
    elif state == State.RETIRING:
        out.append(Issue("warning", v, f"{v} is retiring: cancelling orders and flattening", ["proc-retire"], [ev],
                         [_events(v), C(f"runner positions --variant {v}", "what is still to flatten"),
                          C("runner venues check", "a retiring variant that stays so usually cannot reach its venue")]))
    if loops >= LOOP_MIN:  # first: the loop is what explains this quarantine
        out.insert(0, Issue("warning", v, f"{v} was quarantined {loops} times and cleared in between: the cause "
                         "was never fixed", ["auto-resume-loop", "proc-clear-quarantine"],
                         [{**ev, "kind": "history", "quarantines": loops}],
                         [_events(v), C(f"runner pause {v}", "stop new entries while you fix the cause")
                          if state == State.ACTIVE else _events(v)]))
    return out


def _quarantined(v: str, reason: str, detail: str, ev: dict[str, Any]) -> Issue:
    if reason == "rejected":
        # A hint for the operator, not a decision: the venue's words pick the likelier section.
        band = "band" in detail.lower()
        sections = (["quote-drift-out-of-band"] if band else []) + ["proc-clear-quarantine", "status-matrix"]
        return Issue("warning", v, f"{v} is quarantined: the venue rejected its order"
                     + (" (price outside the venue's band)" if band else ""), sections, [ev],
                     [_events(v), C(f"runner positions --variant {v}", "open positions are still managed; check them"),
                      _clear(v, "the cause of the rejection is fixed")])
    if reason == "risk_block":
        return Issue("warning", v, f"{v} is quarantined: its own risk limit refused an entry",
                     ["risk-block", "proc-change-risk-limit", "proc-clear-quarantine"], [ev],
                     [_events(v), C(f"runner positions --variant {v}", "what is open and still managed"),
                      _clear(v, "you have decided the limit is right (a new limit needs a new version)")])
    if reason == "data_anomaly":
        return Issue("warning", v, f"{v} is quarantined: a fill differed from its order beyond tolerance",
                     ["rounded-fills", "proc-clear-quarantine"], [ev],
                     [C(f"runner fills --variant {v}", "the fills as the venue reported them"),
                      C(f"runner positions --variant {v}", "the position those fills imply"),
                      C("runner reconcile", "confirm the venue agrees with that position"),
                      _clear(v, "the venue's size matches the ledger")])
    if reason == "transient":
        return Issue("warning", v, f"{v} is quarantined: transient venue errors reached the retry limit",
                     ["venue-outage-and-ambiguous-orders", "proc-clear-quarantine"], [ev],
                     [C("runner venues check", "is the venue back?"),
                      C("runner reconcile", "adopt fills and resolve orders the outage left unknown"),
                      _clear(v, "`runner venues check` passes")])
    if reason == "invariant":
        return Issue("critical", v, f"{v} is quarantined: an audit invariant is broken",
                     ["proc-reconcile", "proc-clear-quarantine"], [ev],
                     [C("runner audit", "which check, and its evidence"),
                      C("runner reconcile", "bring the ledger and the venue back in agreement"),
                      _clear(v, "`runner audit` passes")])
    return Issue("warning", v, f"{v} is quarantined ({reason})", ["proc-clear-quarantine", "status-matrix"], [ev],
                 [_events(v), _clear(v, "the cause is fixed")])


def loop_count(history: list[dict[str, Any]]) -> int:
    """Quarantines of a variant that were cleared and came back: an auto-resume loop at LOOP_MIN."""
    q = sum(1 for e in history if e["to"] == State.QUARANTINED)
    cleared = sum(1 for e in history if e.get("trigger") == Trigger.RESUME_CLEAR)
    return q if cleared and q >= LOOP_MIN else 0


# --- positions ------------------------------------------------------------------------------
def exposure_issues(state: dict[str, str], positions: list[dict[str, Any]]) -> list[Issue]:
    """A retired variant holding more than dust: exposure nothing will ever manage."""
    out = []
    for p in positions:
        if state.get(p["variant"]) == State.RETIRED and p["qty"] and not p["dust"]:
            v = p["variant"]
            out.append(Issue("critical", v, f"{v} is retired but holds {p['qty']:g} {p['instrument']} "
                             "(more than dust): invisible exposure", ["invisible-exposure", "proc-reconcile"],
                             [{"variant": v, "kind": "position", **{k: p[k] for k in ("instrument", "qty", "avg_price",
                                                                                        "dust")}}],
                             [C(f"runner positions --variant {v}", "the size and value of the exposure"),
                              C("runner reconcile", "make sure the ledger has every venue fill"),
                              C("runner audit --check retired_flat", "confirm; the finding names what is left"),
                              C("runner close-dust", "plan only: closes it if it is below the venue's minimum")]))
    return out


def dust_issues(dust: list[dict[str, Any]], state: dict[str, str]) -> list[Issue]:
    if not dust:
        return []
    ev = [{"kind": "dust", **d, "state": state.get(d["variant"])} for d in dust]
    variants = sorted({d["variant"] for d in dust})
    return [Issue("info", variants[0] if len(variants) == 1 else None,
                  f"dust left on {', '.join(variants)}: never closed automatically",
                  ["dust-and-phantom-closes", "proc-close-dust"], ev,
                  [C("runner dust", "every fragment: venue, instrument, variant, size, value, age"),
                   C("runner close-dust", "prints the clean-up plan and changes nothing"),
                   C("runner close-dust --confirm", "only after reading the plan: executes exactly that plan")])]


# --- orders and fills -----------------------------------------------------------------------
def order_issues(orders: list[dict[str, Any]], history: dict[str, list[str]]) -> list[Issue]:
    out = []
    unknown = [o for o in orders if o["status"] == "unknown"]
    for v, rows in _by_variant(unknown).items():
        out.append(Issue("warning", v, f"{v} has {len(rows)} order(s) whose outcome the venue did not confirm",
                         ["venue-outage-and-ambiguous-orders", "proc-reconcile"],
                         [{"variant": v, "kind": "order", **_order_ev(o)} for o in rows],
                         [C("runner venues check", "is the venue answering?"),
                          C("runner reconcile", "resolves unknown orders by client order id and adopts their fills")]))
    resolved = [o for o in orders if "resolved" in history.get(o["order_id"], []) and o["status"] != "unknown"]
    for v, rows in _by_variant(resolved).items():
        out.append(Issue("info", v, f"{v}: {len(rows)} ambiguous submit(s) resolved by client order id "
                         "(no duplicate, no failure counted)", ["venue-outage-and-ambiguous-orders"],
                         [{"variant": v, "kind": "order", **_order_ev(o)} for o in rows], [_events(v)]))
    return out


def flagged_fill_issues(fills: list[dict[str, Any]]) -> list[Issue]:
    flagged = [f for f in fills if f.get("flag")]
    return [Issue("info", v, f"{v} has {len(rows)} fill(s) flagged {rows[0]['flag']} (accepted within tolerance)",
                  ["rounded-fills"], [{"kind": "fill", **f} for f in rows],
                  [C(f"runner fills --variant {v}", "the flagged fills; the position follows them")])
            for v, rows in _by_variant(flagged).items()]


def guard_issues(active: list[dict[str, Any]]) -> list[Issue]:
    """A guard that is holding: never "nothing wrong". The kill switch needs the operator."""
    out = []
    for g in active:
        name, reason = str(g["name"]), str(g.get("reason") or "")
        ev = {"kind": "guard", "guard": name, "active": True, "reason": reason, "release": g.get("release"),
              "since": str(g.get("since"))}
        if name == "daily_drawdown":
            out.append(Issue("critical", None, f"the daily-loss kill switch is tripped ({reason}): no variant opens "
                             "a position until an operator releases it", ["guards", "guard-kill-switch"], [ev],
                             [C("runner guards", "which guard, why and since when"),
                              C("runner status", "today's PnL per variant: where the loss came from"),
                              C("runner positions", "what is still open (exits keep running)"),
                              C("runner guard-release daily_drawdown", "only once the loss is understood and "
                                "accepted (runbook guard-kill-switch); it does not re-trip on the same loss")]))
        elif name == "blackout":
            out.append(Issue("info", None, f"a blackout is in force ({reason}): entries stop and lift by themselves",
                             ["guards", "guard-blackout"], [ev], [C("runner guards", "the event and its window")]))
        else:
            out.append(Issue("info", None, f"exposure cap {name} is full ({reason}): other variants may not enter "
                             "those instruments until a holder is flat", ["guards", "guard-exposure-cap"], [ev],
                             [C("runner guards", "which variants hold the group"),
                              C("runner positions", "their positions")]))
    return out


def is_issue(f: dict[str, Any]) -> bool:
    """A finding the operator must hear about: not info freshness, not a group still in flight
    or still inside its kind's own repair window (the kind is fixing it; a critical follows if not)."""
    if f["check"] == "freshness" and f["severity"] == "info":
        return False
    ev = f.get("evidence") if isinstance(f.get("evidence"), dict) else {}
    busy = ev.get("in_flight") or ev.get("repairing")
    return not (f["check"] == "groups_balanced" and busy and f["severity"] != "critical")


def _order_ev(o: dict[str, Any]) -> dict[str, Any]:
    return {k: o[k] for k in ("order_id", "instrument", "side", "qty", "price", "status", "detail")}


def _by_variant(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["variant"], []).append(r)
    return out


# --- findings -------------------------------------------------------------------------------
def finding_issue(f: dict[str, Any], known_sections: set[str]) -> Issue:
    check, v = f["check"], f.get("variant")
    section = f.get("runbook") if f.get("runbook") in known_sections else CHECK_SECTION.get(check, "audit-check-failed")
    cmds = {
        "fills_vs_positions": ["fills --variant {v}", "positions --variant {v}", "reconcile"],
        "ledger_vs_venue": ["reconcile"],
        "retired_flat": ["positions --variant {v}", "reconcile"],
        "groups_balanced": ["positions --variant {v}", "fills --variant {v}", "pause {v}"],
        "cost_sanity": ["fills --variant {v}"],
        "orphan_orders": ["reconcile"],
        "freshness": ["status", "venues check"],
    }.get(check, [])
    commands = [C("runner " + c.format(v=v), f"see runbook section {section}") for c in cmds if v or "{v}" not in c]
    commands.append(C(f"runner audit --check {check}", "re-run this check after acting"))
    title = f.get("summary") or f"audit {check} reported a {f['severity']} finding"
    sections = [section] + (["proc-reconcile"] if "reconcile" in cmds and section != "proc-reconcile" else [])
    return Issue(f["severity"], v, title, sections, [{"kind": "finding", **f}], commands)


def severity_counts(issues: list[Issue]) -> Counter[str]:
    return Counter(i.severity for i in issues)
