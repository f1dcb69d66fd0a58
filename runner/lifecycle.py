"""The variant lifecycle: one transition table, one place.

``TABLE`` maps (state, trigger) to the next state; a pair that is not in it is illegal and
raises :class:`IllegalTransition`. The engine, the operator commands and the audits all move
variants through :func:`next_state`, and every move is written as one ledger row by
``runner.engine.lifecycle_driver``.
"""

from __future__ import annotations

from enum import StrEnum

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


S, T = State, Trigger
_LIVE = (S.PENDING, S.WARMING, S.ACTIVE, S.PAUSED, S.BACKOFF, S.QUARANTINED)

TABLE: dict[tuple[State, Trigger], State] = {
    (S.PENDING, T.START): S.WARMING,
    (S.WARMING, T.WARM): S.ACTIVE,
    (S.ACTIVE, T.PAUSE): S.PAUSED,
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


def trigger_for(error_class: ErrorClass) -> Trigger | None:
    """What an error of this class does to an active variant (None: handled in place)."""
    return {
        ErrorClass.TRANSIENT: T.TRANSIENT,
        ErrorClass.REJECTED: T.QUARANTINE,
        ErrorClass.RISK_BLOCK: T.QUARANTINE,
        ErrorClass.INVARIANT: T.QUARANTINE,
        ErrorClass.AMBIGUOUS: None,  # resolved by client-id lookup before anything is counted
        ErrorClass.DATA_ANOMALY: None,  # accepted and flagged; quarantine only beyond tolerance
    }[error_class]


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... capped."""
    return min(cap_s, base_s * (2 ** max(0, attempt - 1)))
