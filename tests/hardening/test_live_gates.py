"""Live is decided at every start, every entry and every change of venues.yaml.

A deployed `mode: live` variant restarted without RUNNER_LIVE=1, or whose account lost
`live: true`, is paused with the missing gate named, places no entry, and still exits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import control
from runner.lifecycle import State
from tests.kit.deployment import make_home, variant_yaml
from tests.kit.desk import Desk

LIVE_SIM = "sim:\n  adapter: sim\n  seed: 7\n  clock: manual\n  live: true\n"


def _desk(root: Path) -> Desk:
    home = make_home(root, {})
    (home / "venues.yaml").write_text(LIVE_SIM)
    (home / "strategies.d" / "MR_v1.yaml").write_text(variant_yaml("MR_v1").replace("mode: paper", "mode: live"))
    return _open(home)


def _open(home: Path, now: float = 1_000_000.0) -> Desk:
    return Desk.open(home, now=now)


def _restart(desk: Desk) -> Desk:
    desk.close()
    return _open(desk.home, desk.now + 60)


def _state(desk: Desk) -> tuple[str, str]:
    st = desk.ledger.state("MR_v1")
    assert st is not None
    return st.state, st.detail


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RUNNER_LIVE", "1")
    desk = _desk(tmp_path)
    assert _state(desk)[0] == State.ACTIVE
    desk.trade("MR_v1", "buy", "0.01")  # an open position to keep managing
    assert desk.position("MR_v1") > 0
    holder = [desk]
    yield holder
    holder[0].close()


def test_a_restart_without_runner_live_pauses_it_and_places_no_entry(live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNNER_LIVE")
    desk = live[0] = _restart(live[0])
    state, detail = _state(desk)
    assert state == State.PAUSED and "RUNNER_LIVE=1" in detail
    orders = desk.venue_orders()
    desk.trade("MR_v1", "buy", "0.01")
    assert desk.venue_orders() == orders, "no entry while a gate is missing"
    held = desk.position("MR_v1")
    desk.trade("MR_v1", "sell", str(held), purpose="exit")
    assert desk.position("MR_v1") == 0, "the open position is still managed"


def test_removing_live_true_from_venues_yaml_pauses_the_running_variant(live) -> None:
    desk = live[0]
    (desk.home / "venues.yaml").write_text(LIVE_SIM.replace("  live: true\n", "  tick_interval_s: 1\n"))
    desk.step(2)
    state, detail = _state(desk)
    assert state == State.PAUSED and "live: true" in detail and "venues.yaml" in detail
    orders = desk.venue_orders()
    desk.trade("MR_v1", "buy", "0.01")
    assert desk.venue_orders() == orders


def test_a_resume_without_the_gates_is_paused_again_and_places_nothing(live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNNER_LIVE")
    desk = live[0] = _restart(live[0])
    orders = desk.venue_orders()
    control.resume(desk.ledger, "MR_v1")
    desk.step(1)
    desk.trade("MR_v1", "buy", "0.01")
    state, detail = _state(desk)
    assert state == State.PAUSED and "RUNNER_LIVE=1" in detail
    assert desk.venue_orders() == orders


def test_with_every_gate_held_a_restart_keeps_trading_live(live) -> None:
    desk = live[0] = _restart(live[0])
    assert _state(desk)[0] == State.ACTIVE
    before = desk.position("MR_v1")
    desk.trade("MR_v1", "buy", "0.01")
    assert desk.position("MR_v1") > before


def test_an_invalid_venues_yaml_edit_keeps_the_last_good_one(live) -> None:
    desk = live[0]
    (desk.home / "venues.yaml").write_text("sim: [\n")
    desk.step(2)
    assert _state(desk)[0] == State.ACTIVE
    assert desk.rt.venues.accounts["sim"].live
