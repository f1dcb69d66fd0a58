"""Carrying out lifecycle transitions: the table decides, the ledger records, then we move.

Both the engine (actor ``system``/``schedule``) and the operator commands (actor
``operator``) come through :func:`transition`, so every move is one ledger row.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.errors import FencedError, RefusedError
from runner.ledger.models import Transition
from runner.ledger.store import Ledger
from runner.lifecycle import State, Trigger, allowed, next_state


class StaleStateError(RefusedError):
    """The variant moved under us (another actor was first): nothing was written."""


def transition(
    ledger: Ledger, variant: str, current: State | str, trigger: Trigger, reason: str, detail: str, actor: str
) -> Transition:
    nxt = next_state(variant, current, trigger)
    row = ledger.write_transition(variant, State(current).value, nxt.value, trigger.value, reason, detail, actor)
    if row is None:
        now = ledger.state(variant)
        raise StaleStateError(
            f"{variant}: state changed to {now.state if now else 'unknown'} before {trigger.value} could apply"
        )
    return row


class LifecycleDriver:
    """Moves engines (objects with ``id`` and ``state``) and tells whoever listens."""

    def __init__(self, ledger: Ledger, before: Callable[[], None] | None = None,
                 after: Callable[[Transition], None] | None = None) -> None:
        self.ledger = ledger
        self.before = before  # e.g. flush a batching sink: transitions are durability points
        self.after = after

    def fire(self, engine, trigger: Trigger, reason: str, detail: str = "", actor: str = "system") -> Transition | None:  # type: ignore[no-untyped-def]
        """Move ``engine``; None when another actor moved it first to a state the trigger does
        not apply to (the operator retired a variant that was about to start): theirs stands.
        None too when this runner's lease token is stale (``engine.fenced`` says why)."""
        if self.before:
            self.before()
        try:
            row = transition(self.ledger, engine.id, engine.state, trigger, reason, detail, actor)
        except FencedError as exc:
            # This runner lost the variant's lease: nothing was written (checked in the same
            # transaction), and the runtime lets go of the engine as after a fenced order.
            engine.fenced = str(exc)
            return None
        except StaleStateError:
            # Somebody else (the operator) moved it: adopt the recorded state, then retry once.
            rec = self.ledger.state(engine.id)
            if rec is None:
                raise
            engine.state = State(rec.state)
            if not allowed(engine.state, trigger):
                return None
            row = transition(self.ledger, engine.id, engine.state, trigger, reason, detail, actor)
        engine.state = State(row.to_state)
        if self.after:
            self.after(row)
        return row
