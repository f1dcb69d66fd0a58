"""The scheduled tune: a bounded sweep of a named variant on its latest recording writes a
candidate into candidates/ (shown in the digest), never touches strategies.d/ or the ledger, and
refuses a grid over anything but params at its runner.yaml line."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.errors import BadInputError
from runner.ledger.store import Ledger, default_url
from runner.readmodels.digest import digest, text
from runner.tune.schedule import TuneScheduler, plan, run_tune
from tests.kit.home import SIM_MANUAL, make_home
from tests.kit.regimes import hourly_mr_text, write_regime_bars

TUNE = """\
tune:
  cron: "* * * * * *"
  workers: 1
  variants:
    MR_v13:
      grid:
        window: [4, 30, 240]
"""


def _home(tmp_path: Path, runner_yaml: str = TUNE, record: bool = True) -> Path:
    home = make_home(tmp_path / "home", SIM_MANUAL, runner_yaml, {"MR_v13": hourly_mr_text(60)}).path
    if record:
        session = home / "state" / "recordings" / "20261129T000000Z"
        session.mkdir(parents=True)
        name = "sim__BTC-USD__bars-3600s.csv"
        write_regime_bars(session / name)
        (session / "session.json").write_text(json.dumps({
            "session": session.name, "started": time.time() - 3600,
            "variants": {"MR_v13": {"yaml": hourly_mr_text(60), "account": "sim", "files": {"BTC-USD": name},
                                    "warm_until": None}}}))
    return home


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_tune_writes_a_candidate_with_only_its_params_changed_and_never_touches_strategies_d(
        tmp_path: Path) -> None:
    home = _home(tmp_path)
    before = _tree(home / "strategies.d")
    rec = run_tune(home, "MR_v13")
    assert rec["outcome"] == "candidate" and rec["candidate"] == "MR_v14", rec
    assert _tree(home / "strategies.d") == before
    assert not (home / "state" / "ledger.db").exists()
    cand = home / "candidates" / "MR_v14.yaml"
    old = [line for line in hourly_mr_text(60).splitlines() if not line.startswith("# ")]
    new = [line for line in cand.read_text().splitlines() if not line.startswith("# ")]  # the header added
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [("version: 13", "version: 14"), ("  window: 60", "  window: 30")]
    assert "scheduled tune on recording 20261129T000000Z" in cand.read_text()


def test_a_tune_grid_over_a_risk_limit_or_a_gate_is_refused_at_its_line(tmp_path: Path) -> None:
    home = _home(tmp_path, TUNE + "        risk.max_daily_loss: [10, 20]\n", record=False)
    with pytest.raises(BadInputError) as err:
        plan(home, "MR_v13")
    assert f"{home / 'runner.yaml'}:8:" in str(err.value) and "not a param" in str(err.value)
    home2 = _home(tmp_path / "2", TUNE.replace("window: [4, 30, 240]", "live: [true]"), record=False)
    with pytest.raises(BadInputError, match="'live' is not a param"):
        plan(home2, "MR_v13")


def test_no_recording_is_said_and_writes_nothing(tmp_path: Path) -> None:
    home = _home(tmp_path, record=False)
    rec = run_tune(home, "MR_v13")
    assert rec["outcome"] == "no_data" and not (home / "candidates").exists()


def test_the_schedule_runs_the_tune_in_a_child_and_the_digest_shows_the_candidate(tmp_path: Path) -> None:
    home = _home(tmp_path)
    said: list[str] = []
    sched = TuneScheduler(home, "* * * * * *", ["MR_v13"], said.append)
    try:
        sched.tick(datetime.now(UTC) + timedelta(seconds=2))  # due: the child starts
        assert "MR_v13" in sched.running
        deadline = time.monotonic() + 240
        while not sched.outcomes and time.monotonic() < deadline:
            time.sleep(0.2)
            sched.tick(datetime.now(UTC))
    finally:
        sched.stop()
    assert sched.outcomes and sched.outcomes[0]["outcome"] == "candidate", (sched.outcomes, said)
    assert any("in the digest; not deployed" in s for s in said)
    assert not (home / "strategies.d" / "MR_v14.yaml").exists()
    led = Ledger(default_url(home))
    try:
        doc = digest(led, datetime.now(UTC).date(), home=home)
    finally:
        led.close()
    assert [c["candidate"] for c in doc["candidates"]] == ["MR_v14"]
    assert "Candidates: MR_v14." in doc["line"] and len(doc["line"]) <= 160
    assert "candidate: MR_v14 from MR_v13 (window=30" in text(doc)


def test_a_runner_starts_no_tune_without_cron_and_disables_a_bad_grid_saying_where(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from runner.tune.schedule import start_tune_scheduler
    from tests.kit.home import Home

    off = Home(_home(tmp_path / "off", TUNE.replace('  cron: "* * * * * *"\n', ""), record=False))
    rt = off.runtime()
    try:
        start_tune_scheduler(rt)()  # nothing to start, nothing to stop
    finally:
        rt.ledger.close()
    bad = Home(_home(tmp_path / "bad", TUNE.replace("window: [4, 30, 240]", "mode: [live]"), record=False))
    rt = bad.runtime()
    caplog.set_level("ERROR", logger="runner.console")
    try:
        stop = start_tune_scheduler(rt)
        stop()
    finally:
        rt.ledger.close()
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "tune MR_v13 disabled" in said and f"{bad.path / 'runner.yaml'}:7" in said and "'mode' is not a param" in said
