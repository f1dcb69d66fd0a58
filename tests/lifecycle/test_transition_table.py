"""Every cell of the lifecycle table: legal moves write one row, illegal ones write nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from runner import control
from runner.engine.lifecycle_driver import transition
from runner.errors import ErrorClass, RefusedError
from runner.ledger.models import Deployment
from runner.ledger.store import T_STATE, Ledger
from runner.lifecycle import TABLE, Action, IllegalTransition, State, Trigger, allowed, backoff_delay, respond


def _ledger_with(tmp_path, state: State) -> Ledger:  # type: ignore[no-untyped-def]
    led = Ledger(f"sqlite:///{tmp_path}/l.db")
    led.record_deployment(Deployment(variant="V_v1", name="V", version=1, kind="mean_reversion", venue="sim",
                                     mode="paper", content_hash="h", yaml_text="", path="V_v1.yaml",
                                     deployed_at=datetime.now(UTC)), State.PENDING.value)
    with led.begin() as conn:
        conn.execute(update(T_STATE).where(T_STATE.c.variant == "V_v1").values(state=state.value))
    return led


@pytest.mark.parametrize(("state", "trigger"), list(itertools.product(State, Trigger)))
def test_every_cell_of_the_table(tmp_path, state: State, trigger: Trigger) -> None:
    led = _ledger_with(tmp_path, state)
    if (state, trigger) in TABLE:
        row = transition(led, "V_v1", state, trigger, "system", "walk", "system")
        assert (row.from_state, row.to_state) == (state.value, TABLE[(state, trigger)].value)
        assert led.state("V_v1").state == TABLE[(state, trigger)].value  # type: ignore[union-attr]
        (only,) = led.transitions("V_v1")
        assert only.trigger == trigger.value and only.actor == "system" and only.detail == "walk"
    else:
        with pytest.raises(IllegalTransition):
            transition(led, "V_v1", state, trigger, "system", "walk", "system")
        assert led.transitions("V_v1") == []
        assert led.state("V_v1").state == state.value  # type: ignore[union-attr]


def test_retired_is_terminal_and_only_retiring_or_the_operators_abandon_reaches_it() -> None:
    # abandon (retire --abandon) was added for a venue that cannot be reached: the operator ends it;
    # handover (runner promote) from active or paused: flat because its positions moved to NEW
    assert not [k for k in TABLE if k[0] is State.RETIRED]
    reach = {k for k, v in TABLE.items() if v is State.RETIRED}
    assert {k for k in reach if k[1] is not Trigger.ABANDON} == {
        (State.RETIRING, Trigger.FLAT), (State.ACTIVE, Trigger.HANDOVER), (State.PAUSED, Trigger.HANDOVER)}
    assert {s for s, t in reach if t is Trigger.ABANDON} == set(State) - {State.RETIRED}


def test_a_stale_compare_and_set_writes_nothing(tmp_path) -> None:
    led = _ledger_with(tmp_path, State.ACTIVE)
    control.pause(led, "V_v1")
    with pytest.raises(RefusedError):
        transition(led, "V_v1", State.ACTIVE, Trigger.QUARANTINE, "rejected", "late", "system")
    assert [t.to_state for t in led.transitions("V_v1")] == ["paused"]


def test_operator_commands_are_recorded_with_actor_operator(tmp_path) -> None:
    led = _ledger_with(tmp_path, State.ACTIVE)
    control.pause(led, "V_v1", "checking a fill")
    control.resume(led, "V_v1")
    control.retire(led, "V_v1")
    rows = led.transitions("V_v1")
    assert [(r.to_state, r.actor) for r in rows] == [("paused", "operator"), ("active", "operator"),
                                                     ("retiring", "operator")]
    assert rows[0].detail == "checking a fill"


def test_resume_of_a_quarantined_variant_needs_clear(tmp_path) -> None:
    led = _ledger_with(tmp_path, State.QUARANTINED)
    with pytest.raises(IllegalTransition) as info:
        control.resume(led, "V_v1")
    assert "--clear" in str(info.value)
    assert control.resume(led, "V_v1", clear=True).to_state == "active"


@pytest.mark.parametrize(("state", "error_class"), list(itertools.product(State, ErrorClass)))
def test_the_policy_and_the_table_walked_together(state: State, error_class: ErrorClass) -> None:
    """Every (state, error class): the policy's trigger is legal from that state, and a
    trigger-less answer moves nothing."""
    resp = respond(state, error_class)
    if resp.trigger is not None:
        assert allowed(state, resp.trigger), (state, error_class, resp)
        if resp.action is Action.BACKOFF:  # past the retry limit it quarantines
            assert allowed(state, Trigger.QUARANTINE)
    else:
        assert resp.action in (Action.LOOKUP, Action.RETRY, Action.REPORT)


def test_error_classes_decide_the_response() -> None:
    a = State.ACTIVE
    assert respond(a, ErrorClass.TRANSIENT).trigger is Trigger.TRANSIENT
    assert respond(State.BACKOFF, ErrorClass.TRANSIENT).action is Action.BACKOFF
    assert respond(a, ErrorClass.REJECTED) == respond(State.PAUSED, ErrorClass.REJECTED)
    assert respond(a, ErrorClass.REJECTED).action is Action.COUNT
    for cls in (ErrorClass.RISK_BLOCK, ErrorClass.INVARIANT, ErrorClass.DATA_ANOMALY):
        assert respond(a, cls).action is Action.QUARANTINE and respond(a, cls).trigger is Trigger.QUARANTINE
    assert respond(a, ErrorClass.AMBIGUOUS).action is Action.LOOKUP  # never counted before the lookup
    assert respond(State.RETIRING, ErrorClass.TRANSIENT).action is Action.RETRY
    assert respond(State.RETIRING, ErrorClass.REJECTED).action is Action.RETRY  # a refused flatten: not every tick
    assert respond(State.WARMING, ErrorClass.REJECTED).action is Action.REPORT
    assert respond(State.QUARANTINED, ErrorClass.INVARIANT).action is Action.REPORT
    assert respond(State.PAUSED, ErrorClass.TRANSIENT).action is Action.REPORT


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff_delay(n, 1.0, 10.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_a_retry_hint_lengthens_the_delay_never_shortens_it() -> None:
    assert backoff_delay(4, 1.0, 60.0, retry_after=1.0) == 8  # a 429's 1 s hint does not cut 8 s
    assert backoff_delay(1, 1.0, 60.0, retry_after=30.0) == 30
