"""A running runner obeys the ledger and strategies.d: hot deploy, edits, removal, operator commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.ledger.store import Ledger, default_url
from tests.kit.home import mr_yaml
from tests.kit.process import FAST_RUNNER, FAST_SIM, cli, cli_json, start_runner, stop_runner, wait_for
from tests.kit.runner_time import within_heartbeats


def _state(home: Path, vid: str) -> str | None:
    for v in cli_json(home, "status")["variants"]:
        if v["id"] == vid:
            return v["state"]
    return None


@pytest.fixture
def running(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "strategies.d").mkdir()
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml())
    (tmp_path / "venues.yaml").write_text(FAST_SIM)
    (tmp_path / "runner.yaml").write_text(FAST_RUNNER)
    proc = start_runner(tmp_path)
    wait_for(lambda: _state(tmp_path, "MR_v13") in ("warming", "active"), timeout=120)
    yield tmp_path, proc
    stop_runner(proc)


def test_hot_deploy_edit_refusal_invalid_file_and_removal(running) -> None:  # type: ignore[no-untyped-def]
    home, _proc = running
    sd = home / "strategies.d"
    # a new valid file deploys without a restart
    (sd / "MR_v14.yaml").write_text(mr_yaml(version=14))
    wait_for(lambda: _state(home, "MR_v14") is not None, timeout=120)  # a bound, not a measurement
    # an invalid file deploys nothing, disturbs nobody, and its error is shown and recorded
    (sd / "MR_v15.yaml").write_text(mr_yaml(version=15).replace("window: 20", "window: -3"))
    wait_for(lambda: any("MR_v15" in e["file"] for e in cli_json(home, "status")["errors"]), timeout=120)
    status = cli_json(home, "status")
    (err,) = [e for e in status["errors"] if "MR_v15" in e["file"]]
    assert "params.window" in err["message"] and ":8:" in err["message"]
    assert _state(home, "MR_v15") is None
    assert _state(home, "MR_v13") in ("warming", "active")
    # an edit of a deployed version is refused and the old one keeps running
    (sd / "MR_v14.yaml").write_text(mr_yaml(version=14, entry_z=2.0))
    wait_for(lambda: any("MR_v14" in e["file"] for e in cli_json(home, "status")["errors"]), timeout=120)
    (err,) = [e for e in cli_json(home, "status")["errors"] if "MR_v14" in e["file"]]
    assert "Bump `version:`" in err["message"]
    assert _state(home, "MR_v14") in ("warming", "active")
    # removing a file retires the variant (cancel, flatten, retired)
    (sd / "MR_v13.yaml").unlink()
    wait_for(lambda: _state(home, "MR_v13") == "retired", timeout=120)
    events = cli_json(home, "events", "MR_v13")["events"]
    assert [e["to"] for e in events][-2:] == ["retiring", "retired"]
    assert "removed" in events[-2]["detail"]
    pos = [p for p in cli_json(home, "positions")["positions"] if p["variant"] == "MR_v13"]
    assert all(p["qty"] == 0 or p["dust"] for p in pos)


def test_operator_commands_take_effect_in_the_running_runner_within_a_second(running) -> None:  # type: ignore[no-untyped-def]
    home, proc = running
    wait_for(lambda: _state(home, "MR_v13") == "active", timeout=120)
    led = Ledger(default_url(home))
    res = cli(home, "pause", "MR_v13", "--reason", "looking at fills")
    assert res.returncode == 0, res.stderr
    # within a second of the runner's own time: before its second heartbeat from now (a
    # wall-clock deadline fails on a loaded machine, where the runner's loop runs slower too)
    within_heartbeats(led, lambda: "MR_v13 now paused" in (home / "runner.log").read_text(), 2, proc.pid)
    assert cli(home, "resume", "MR_v13").returncode == 0
    within_heartbeats(led, lambda: "MR_v13 now active" in (home / "runner.log").read_text(), 2, proc.pid)
    again = cli(home, "resume", "MR_v13")  # already active: refused, nothing written
    assert again.returncode == 1 and "cannot resume from active" in again.stderr
    assert cli(home, "retire", "MR_v13").returncode == 0
    wait_for(lambda: _state(home, "MR_v13") == "retired", timeout=120)
    res = cli(home, "resume", "MR_v13")
    assert res.returncode == 1 and "never trades again" in res.stderr
    events = cli_json(home, "events", "MR_v13")["events"]
    assert [e["actor"] for e in events if e["to"] in ("paused", "retiring")] == ["operator", "operator"]
    led.close()
