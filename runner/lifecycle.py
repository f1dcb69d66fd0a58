"""The variant lifecycle: one transition table and one error policy, in one place.

``TABLE`` maps (state, trigger) to the next state; a pair that is not in it is illegal and
raises :class:`IllegalTransition` (:func:`allowed` asks without raising). :func:`respond`
is the one answer to "what does an error of this class do to a variant in this state": the
runtime, the backtest and the audits all ask it, so the three cannot disagree. Every move
is written as one ledger row by ``runner.engine.lifecycle_driver``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from runner.errors import ErrorClass, RefusedError


class State(StrEnum):
    PENDING = "pending"
    WARMING = "warming"
    ACTIVE = "active"
    PAUSED = "paused"
    BACKOFF = "backoff"
    QUARANTINED = "quarantined"
    RETIRING = "retiring"
    RETIRED = "retired"


class Trigger(StrEnum):
    START = "start"  # runner picked the variant up
    WARM = "warm"  # strategy has the history it needs
    PAUSE = "pause"  # operator
    RESUME = "resume"  # operator, from paused
    RESUME_CLEAR = "resume_clear"  # operator, from quarantined (runner resume --clear)
    TRANSIENT = "transient"  # network, 5xx, rate limit
    BACKOFF_ELAPSED = "backoff_elapsed"  # auto-resume after the backoff delay
    QUARANTINE = "quarantine"  # rejected, risk_block, invariant, anomaly beyond tolerance, retry limit
    RETIRE = "retire"  # operator, file removed, or retired: true
    FLAT = "flat"  # retiring finished: no orders, flat except dust
    ABANDON = "abandon"  # operator only (retire --abandon): ends it; its exposure stays a finding
    HANDOVER = "handover"  # operator (runner promote OLD NEW): OLD's positions moved to NEW, flat by transfer
    TAKE_OVER = "take_over"  # operator (runner promote OLD NEW): NEW holds what OLD held, and trades


S, T = State, Trigger
_LIVE = (S.PENDING, S.WARMING, S.ACTIVE, S.PAUSED, S.BACKOFF, S.QUARANTINED)

TABLE: dict[tuple[State, Trigger], State] = {
    (S.PENDING, T.START): S.WARMING,
    (S.WARMING, T.WARM): S.ACTIVE,
    (S.ACTIVE, T.PAUSE): S.PAUSED,
    # The operator can stop a variant that is about to start (SPEC, Lifecycle): the pause is
    # recorded (a row that keeps the state) and applied when warm, so it finishes warming and a
    # resume never makes active a strategy without its history; a resume first withdraws it.
    (S.PENDING, T.PAUSE): S.PENDING,
    (S.WARMING, T.PAUSE): S.WARMING,
    (S.PENDING, T.RESUME): S.PENDING,
    (S.WARMING, T.RESUME): S.WARMING,
    (S.BACKOFF, T.PAUSE): S.PAUSED,
    (S.PAUSED, T.RESUME): S.ACTIVE,
    (S.ACTIVE, T.TRANSIENT): S.BACKOFF,
    (S.BACKOFF, T.BACKOFF_ELAPSED): S.ACTIVE,
    # A transient error met while backing off (e.g. a cancel during an outage) keeps it there.
    (S.BACKOFF, T.TRANSIENT): S.BACKOFF,
    (S.ACTIVE, T.QUARANTINE): S.QUARANTINED,
    (S.PAUSED, T.QUARANTINE): S.QUARANTINED,
    (S.BACKOFF, T.QUARANTINE): S.QUARANTINED,
    (S.QUARANTINED, T.RESUME_CLEAR): S.ACTIVE,
    **{(s, T.RETIRE): S.RETIRING for s in _LIVE},
    (S.RETIRING, T.FLAT): S.RETIRED,
    # A venue that cannot be reached never traps a variant: the operator may end it (recorded).
    **{(s, T.ABANDON): S.RETIRED for s in (*_LIVE, S.RETIRING)},
    # Promotion without flattening (runner.engine.handover): OLD ends retired, flat because its
    # positions were transferred in the same transaction; NEW starts (or goes on) active.
    (S.ACTIVE, T.HANDOVER): S.RETIRED,
    (S.PAUSED, T.HANDOVER): S.RETIRED,
    **{(s, T.TAKE_OVER): S.ACTIVE for s in (S.PENDING, S.WARMING, S.ACTIVE, S.PAUSED)},
}

# States that may open new positions. Every other state still manages open positions:
# exits, stop-loss and time-stop run everywhere except retired (no state abandons a position).
ENTRIES_ALLOWED = frozenset({S.ACTIVE})
MANAGES_POSITIONS = frozenset(set(S) - {S.RETIRED})

_HINTS = {
    (S.QUARANTINED, T.RESUME): "a quarantined variant needs `runner resume ID --clear`",
    (S.RETIRED, T.RESUME): "a retired variant never trades again: deploy a new version instead",
    (S.RETIRED, T.RESUME_CLEAR): "a retired variant never trades again: deploy a new version instead",
}


class IllegalTransition(RefusedError):
    def __init__(self, variant: str, state: State, trigger: Trigger) -> None:
        hint = _HINTS.get((state, trigger), "not in the lifecycle table")
        super().__init__(f"{variant}: cannot {trigger.value} from {state.value}: {hint}")
        self.state, self.trigger = state, trigger


def next_state(variant: str, state: State | str, trigger: Trigger) -> State:
    state = State(state)
    try:
        return TABLE[(state, trigger)]
    except KeyError:
        raise IllegalTransition(variant, state, trigger) from None


def allowed(state: State | str, trigger: Trigger) -> bool:
    return (State(state), trigger) in TABLE


class _Row(Protocol):
    trigger: str
    to_state: str
    reason: str
    detail: str


def pause_requested(rows: Sequence[_Row]) -> _Row | None:
    """The operator's pause still waiting for warm-up, from a variant's transition rows (oldest
    first): the last pause or resume recorded while ``pending``/``warming`` when it was a pause.
    Pending and warming only ever come first, so any later move ends the wait."""
    for r in reversed(rows):
        if r.to_state not in (S.PENDING.value, S.WARMING.value):
            return None
        if r.trigger in (T.PAUSE.value, T.RESUME.value):
            return r if r.trigger == T.PAUSE.value else None
    return None


class Action(StrEnum):
    """What the driver does with an error; the trigger it fires (if any) is in :class:`Response`."""

    BACKOFF = "backoff"  # one attempt of a backoff cycle; quarantine past the retry limit
    COUNT = "count"  # count it; quarantine when the count reaches its limit
    QUARANTINE = "quarantine"  # at once
    LOOKUP = "lookup"  # outcome unknown: resolved by client-id lookup, never counted first
    RETRY = "retry"  # retiring: keep trying with backoff, one line per attempt
    REPORT = "report"  # nothing to move from this state: say so once, keep managing positions


@dataclass(frozen=True)
class Response:
    action: Action
    trigger: Trigger | None = None  # fired now (BACKOFF, QUARANTINE) or at the limit (COUNT)


_QUARANTINE = Response(Action.QUARANTINE, T.QUARANTINE)


def respond(state: State | str, error_class: ErrorClass) -> Response:
    """The one policy: what an error of ``error_class`` does to a variant in ``state``.

    Only errors that reach the lifecycle come here: a ``data_anomaly`` within tolerance is
    accepted and flagged in place, so the class arriving here is one beyond tolerance.
    ``paused`` keeps a transient error where it is (its exits retry on the next tick);
    ``quarantined``, ``pending`` and ``warming`` have nothing to move to; ``retiring`` keeps
    trying, with backoff. Every trigger returned is legal from ``state`` (a test walks both together).
    """
    state = State(state)
    if error_class is ErrorClass.AMBIGUOUS:
        return Response(Action.LOOKUP)
    if state is S.RETIRING:
        return Response(Action.RETRY)  # an outage or a refused flatten: try again later, not every tick
    if state not in (S.ACTIVE, S.PAUSED, S.BACKOFF):
        return Response(Action.REPORT)
    if error_class is ErrorClass.TRANSIENT:
        return Response(Action.REPORT) if state is S.PAUSED else Response(Action.BACKOFF, T.TRANSIENT)
    if error_class is ErrorClass.REJECTED:
        return Response(Action.COUNT, T.QUARANTINE)
    return _QUARANTINE  # risk_block, invariant, data_anomaly beyond tolerance


def backoff_delay(attempt: int, base_s: float, cap_s: float, retry_after: float | None = None) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... capped. A venue's retry hint lengthens
    the delay, never shortens it."""
    return max(min(cap_s, base_s * (2 ** max(0, attempt - 1))), retry_after or 0.0)
