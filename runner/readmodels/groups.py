"""Multi-leg group balance per instrument, and what an operator action would do now.

Group balance is the ``groups_balanced`` audit's own judgement (one owner): a group's legs
are netted per instrument over every fill of the group, orphan sweeps included, so a
Kalshi YES/NO pair whose orphan leg was swept is balanced. A group with an order still
working is "in flight", not unbalanced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.ledger.store import Ledger
from runner.lifecycle import TABLE, State, Trigger

ACTIONS: dict[str, Trigger] = {"pause": Trigger.PAUSE, "resume": Trigger.RESUME, "resume --clear": Trigger.RESUME_CLEAR,
                               "retire": Trigger.RETIRE}


def group_balance(ledger: Ledger, home: Path, variant: str | None = None) -> dict[str, Any]:
    """Per variant with groups: net position per instrument, and every unbalanced group."""
    from runner.audit.inputs import read_ledger
    from runner.audit.ledger_checks import groups_balanced
    from runner.audit.run import settings_for

    led = read_ledger(ledger, settings_for(home))
    grouped = sorted({o.variant for o in led.orders.values() if o.group_id and (variant in (None, o.variant))})
    findings = groups_balanced(led, {})
    out = []
    for v in grouped:
        net = {p.instrument: float(p.qty) for p in led.positions if p.variant == v}
        mine = [f for f in findings if f.variant == v]
        unbalanced = [{"group": f.evidence.get("group"), "legs": {k: float(q) for k, q in f.evidence["legs"].items()},
                       "in_flight": bool(f.evidence.get("in_flight")), "summary": f.summary} for f in mine]
        groups = len({o.group_id for o in led.orders.values() if o.variant == v and o.group_id})
        out.append({"variant": v, "groups": groups, "positions": net,
                    "balanced": not any(not u["in_flight"] for u in unbalanced), "unbalanced": unbalanced[-20:]})
    return {"variants": out, "note": "legs netted per instrument over every fill of a group (orphan sweeps "
                                     "included); in_flight: an order of the group is still working"}


def what_if(state: str, action: str) -> dict[str, Any]:
    """What ``action`` would do from ``state``, by the lifecycle table (refused if not in it)."""
    trig = ACTIONS.get(action)
    if trig is None:
        return {"action": action, "error": f"not an operator action; one of {', '.join(ACTIONS)}"}
    try:
        st = State(state)
    except ValueError:
        return {"action": action, "state": state, "allowed": False, "result": None, "why": f"unknown state {state!r}"}
    nxt = TABLE.get((st, trig))
    return {"action": action, "state": state, "allowed": nxt is not None, "result": None if nxt is None else str(nxt),
            "why": "by the lifecycle table (runner/lifecycle.py)" if nxt is not None
            else f"{action} is refused from {state} (not in the lifecycle table)"}


def lifecycle_table() -> list[dict[str, str]]:
    return [{"from": str(s), "trigger": str(t), "to": str(n)} for (s, t), n in TABLE.items()]
