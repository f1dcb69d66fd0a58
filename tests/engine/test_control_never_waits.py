"""Issue 12, item 4: nothing on the control thread waits on a venue.

The control thread renews leases, adopts operator transitions and deploys for every account.
Two things there used to call venues: the venue half of starting a variant (connecting the
adapter, warming from its history, looking up open orders) and the scheduled audits. With
Hyperliquid's ``/info`` hanging for one of them (the real SDK; only its HTTP faked by
``responses``), the market maker on the sim account keeps quoting, a variant file dropped in
meanwhile is deployed and starts, and the operator can still retire the hung variant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from runner import control
from runner.engine.report import Reporter
from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.engine.test_account_threads import MM, VENUES
from tests.kit.deployment import variant_yaml
from tests.kit.home import make_home
from tests.venues.test_hyperliquid_fake import FakeHyperliquid, stand_in

HANG_S = 30.0
NO_AUDITS = "audits: {all: '0 0 1 1 *', reconcile: '0 0 1 1 *'}\n"
AUDIT_EVERY_SECOND = "audits: {all: '0 0 1 1 *', reconcile: '* * * * * *'}\n"


class StuckHyperliquid(FakeHyperliquid):
    """``/info`` answers hang (up to ``HANG_S``, or until released) for the requests ``hang``
    picks, as a venue whose gateway stops answering holds the caller's thread."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.hang: Callable[[], bool] = lambda: False
        self.release = threading.Event()
        self.hanging = threading.Event()  # a request is stuck right now
        self.stuck_in: str | None = None  # the thread it is stuck in
        super().__init__(rsps)
        self.info["candleSnapshot"] = []  # no history: warms on live bars

    def _on_info(self, request: requests.PreparedRequest) -> Any:
        if not self.release.is_set() and self.hang():
            self.stuck_in = threading.current_thread().name
            self.hanging.set()
            self.release.wait(HANG_S)
            self.hanging.clear()
        return super()._on_info(request)


@pytest.fixture
def hl(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with stand_in(monkeypatch, StuckHyperliquid) as fake:
        yield fake


def orders_of(ledger: Ledger, variant: str) -> int:
    return len(ledger.orders(variant=variant, limit=100000))


def state_of(ledger: Ledger, variant: str) -> str | None:
    st = ledger.state(variant)
    return None if st is None else st.state


class Script:
    """``should_stop`` of ``Runtime.run``: steps of a scenario, each a predicate that returns
    True when done; the run stops when all are done (or after ``HANG_S``: the stall ended)."""

    def __init__(self, *steps: Callable[[], bool]) -> None:
        self.steps = list(steps)
        self.done: list[int] = []
        self.deadline = time.monotonic() + 60.0

    def __call__(self) -> bool:
        while self.steps and self.steps[0]():
            self.steps.pop(0)
            self.done.append(len(self.done))
        return not self.steps or time.monotonic() > self.deadline


def test_a_venue_hung_at_a_variants_start_stalls_neither_the_other_accounts_nor_the_control_thread(
        tmp_path: Path, hl: StuckHyperliquid, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("runner.engine.starts.SLOW_S", 1.0)  # says why it waits after 1 s, not 10
    home = make_home(tmp_path / "desk", VENUES, runner_yaml="loop_interval_s: 0.05\n" + NO_AUDITS,
                     variants={"MM_v1": MM, "X_v1": variant_yaml("X_v1", ("BTC",), venue="hl")}).path
    hl.hang = lambda: True  # Hyperliquid answers nothing from the start: its adapter cannot connect
    ledger = Ledger(default_url(home))
    rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), Reporter(quiet=True))
    rt.start(threads=True)  # returns: the venue half of X_v1's start waits for its account's thread
    assert "X_v1" not in rt.engines and state_of(ledger, "X_v1") == "pending"
    seen: dict[str, Any] = {}

    def quoting() -> bool:
        return orders_of(ledger, "MM_v1") >= 2 and hl.hanging.is_set()

    def new_file_deployed() -> bool:  # the control thread's work: a new file is scanned and started
        if "dropped" not in seen:
            (home / "strategies.d" / "MN_v1.yaml").write_text(MM.replace("name: MM", "name: MN"))
            rt.rescan = True
            seen["dropped"] = True
        return "MN_v1" in rt.engines and orders_of(ledger, "MN_v1") >= 1

    def says_why_it_waits() -> bool:  # on its file, as `runner status` shows it
        seen["said"] = [e.message for e in ledger.spec_errors() if e.message.startswith("X_v1: starting")]
        return bool(seen["said"]) and state_of(ledger, "X_v1") == "pending"

    def retired_by_the_operator() -> bool:
        if "retired" not in seen:
            control.retire(ledger, "X_v1", "test: its venue does not answer")
            seen["retired"] = True
        return state_of(ledger, "X_v1") in ("retiring", "retired")

    def still_hung() -> bool:
        seen["stuck_in"] = hl.stuck_in
        seen["still_hung"] = hl.hanging.is_set()
        hl.release.set()  # the venue answers again
        return True

    def started_in_its_current_state() -> bool:  # and the note about the wait is gone
        return ("X_v1" in rt.engines and rt.engines["X_v1"].state.value in ("retiring", "retired")
                and not [e for e in ledger.spec_errors() if e.message.startswith("X_v1: starting")])

    script = Script(quoting, new_file_deployed, says_why_it_waits, retired_by_the_operator, still_hung,
                    started_in_its_current_state)
    try:
        rt.run(should_stop=script, concurrent=True)
        assert script.done == [0, 1, 2, 3, 4, 5], f"steps done: {script.done}"
        assert seen["still_hung"], "Hyperliquid never answered during all that"
        assert "waiting for account hl" in seen["said"][0]
        assert seen["stuck_in"] == "account-hl", "the start waited on the account's own thread"
    finally:
        hl.release.set()
        rt.stop(clean=True)
    assert state_of(ledger, "MM_v1") == "active"
    ledger.close()


def test_a_scheduled_audit_hung_on_a_venue_stalls_neither_trading_nor_the_control_thread(
        tmp_path: Path, hl: StuckHyperliquid) -> None:
    from runner.audit.schedule import start_audit_scheduler

    home = make_home(tmp_path / "desk", VENUES, runner_yaml="loop_interval_s: 0.05\n" + AUDIT_EVERY_SECOND,
                     variants={"MM_v1": MM, "X_v1": variant_yaml("X_v1", ("BTC",), venue="hl")}).path
    ledger = Ledger(default_url(home))
    rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), Reporter(quiet=True))
    rt.start(threads=True)
    stop_audits = start_audit_scheduler(rt)
    hl.hang = lambda: threading.current_thread().name != "account-hl"  # only the audits' reads hang
    seen: dict[str, Any] = {}

    def audit_stuck() -> bool:
        return hl.hanging.is_set() and orders_of(ledger, "MM_v1") >= 1

    def trading_and_deploying_meanwhile() -> bool:
        if "dropped" not in seen:
            seen["orders"] = orders_of(ledger, "MM_v1")
            (home / "strategies.d" / "MN_v1.yaml").write_text(MM.replace("name: MM", "name: MN"))
            rt.rescan = True
            seen["dropped"] = True
        return (orders_of(ledger, "MM_v1") > seen["orders"] and "MN_v1" in rt.engines
                and orders_of(ledger, "MN_v1") >= 1)

    def still_stuck() -> bool:
        seen["stuck_in"] = hl.stuck_in
        seen["still_stuck"] = hl.hanging.is_set()
        hl.release.set()
        return True

    script = Script(audit_stuck, trading_and_deploying_meanwhile, still_stuck)
    try:
        rt.run(should_stop=script, concurrent=True)
        assert script.done == [0, 1, 2], f"steps done: {script.done}"
        assert seen["still_stuck"], "the audit never came back during all that"
        assert seen["stuck_in"] == "audits"
    finally:
        hl.release.set()
        stop_audits()
        rt.stop(clean=True)
    ledger.close()
