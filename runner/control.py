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
    """Pause; a ``pending`` or ``warming`` variant records the pause and becomes ``paused`` when warm."""
    state = _current(ledger, variant)
    detail = reason or "paused"
    if state in (State.PENDING, State.WARMING):
        detail = f"pause requested, applied when warm: {detail}"
    return transition(ledger, variant, state, Trigger.PAUSE, "operator", detail, "operator")


def resume(ledger: Ledger, variant: str, clear: bool = False, reason: str = "") -> Transition:
    state = _current(ledger, variant)
    trigger = Trigger.RESUME_CLEAR if clear and state is State.QUARANTINED else Trigger.RESUME
    detail = reason or ("quarantine cleared; counters reset" if trigger is Trigger.RESUME_CLEAR else "resumed")
    if state in (State.PENDING, State.WARMING):
        detail = f"pause request withdrawn: {detail}"
    return transition(ledger, variant, state, trigger, "operator", detail, "operator")


def retire(ledger: Ledger, variant: str, reason: str = "") -> Transition:
    return transition(ledger, variant, _current(ledger, variant), Trigger.RETIRE, "operator",
                      reason or "retired by operator", "operator")


def abandon(ledger: Ledger, variant: str, reason: str = "") -> Transition:
    """End a variant whose venue cannot be reached (``retire --abandon``, operator only).

    It becomes ``retired`` at once, recorded with reason ``abandon``: no runner trades it
    again, and whatever it still holds stays a standing ``retired_flat`` finding (in the
    ledger, and on the venue until it confirms flat) for the operator to close by hand.
    """
    held = [f"{p.qty} {p.instrument}" for p in ledger.positions(variant=variant) if p.qty]
    detail = (reason or "abandoned by operator") + (f"; exposure left: {', '.join(held)}" if held else "; flat")
    return transition(ledger, variant, _current(ledger, variant), Trigger.ABANDON, "abandon", detail, "operator")


def promote(ledger: Ledger, old: str, new: str, venues, reason: str = ""):  # type: ignore[no-untyped-def]
    """NEW takes over OLD's positions without trading (``runner.engine.handover``): OLD ends
    ``retired`` flat by transfer, NEW ``active`` holding them. A running runner adopts it within
    a second, whatever it was doing; refusals are bad input (exit 2) and write nothing."""
    from runner.engine.handover import promote as hand_over

    return hand_over(ledger, old, new, venues, reason)


def dust_report(ledger: Ledger) -> list:  # type: ignore[type-arg]
    """Every dust fragment in the ledger (retired variants included); reading only."""
    from runner.audit.dust import fragments

    return fragments(ledger)


def close_dust(ledger: Ledger, venues, home, confirm: bool = False) -> tuple[list, list]:  # type: ignore[no-untyped-def,type-arg]
    """Plan the dust clean-up; with ``confirm``, execute it through the normal order path.

    Dust is never closed automatically: this is the only way, and only on the operator's
    word. Returns (plan items, outcomes); outcomes are empty without ``confirm``.
    """
    from runner.audit.close_dust import execute
    from runner.audit.dust import dust_plan
    from runner.audit.inputs import adapter_factory

    items = dust_plan(ledger)
    if not confirm:
        return items, []
    make = adapter_factory(venues, home)
    adapters: dict = {}  # type: ignore[type-arg]
    outcomes = []
    try:
        for item in items:
            ad = None
            if item.action == "order":
                if item.account not in venues.accounts:
                    raise BadInputError(f"account {item.account!r} is not in venues.yaml")
                ad = adapters.get(item.account) or adapters.setdefault(item.account, make(item.account))
            outcomes.append(execute(ledger, item, ad))
    finally:
        for ad in adapters.values():
            ad.close()
    return items, outcomes
