"""Operator operations, transport-independent: the CLI and any other front-end are thin.

Each operation goes through the lifecycle table and is written to the ledger with actor
``operator``; a running runner adopts it within a second. Refusals raise typed errors.
"""

from __future__ import annotations

from runner.engine.lifecycle_driver import transition
from runner.errors import BadInputError
from runner.ledger.models import Transition
from runner.ledger.store import Ledger
from runner.lifecycle import State, Trigger


def _current(ledger: Ledger, variant: str) -> State:
    rec = ledger.state(variant)
    if rec is None or ledger.deployment(variant) is None:
        known = ", ".join(d.variant for d in ledger.deployments() if "@" not in d.variant) or "none"
        raise BadInputError(f"unknown variant {variant!r} (deployed: {known})")
    return State(rec.state)


def pause(ledger: Ledger, variant: str, reason: str = "") -> Transition:
    return transition(ledger, variant, _current(ledger, variant), Trigger.PAUSE, "operator", reason or "paused", "operator")


def resume(ledger: Ledger, variant: str, clear: bool = False, reason: str = "") -> Transition:
    state = _current(ledger, variant)
    trigger = Trigger.RESUME_CLEAR if clear and state is State.QUARANTINED else Trigger.RESUME
    detail = reason or ("quarantine cleared; counters reset" if trigger is Trigger.RESUME_CLEAR else "resumed")
    return transition(ledger, variant, state, trigger, "operator", detail, "operator")


def retire(ledger: Ledger, variant: str, reason: str = "") -> Transition:
    return transition(ledger, variant, _current(ledger, variant), Trigger.RETIRE, "operator",
                      reason or "retired by operator", "operator")
