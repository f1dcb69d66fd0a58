"""A CLI that never lies: runner liveness in `status`, exit 2 for a missing deployment and for
unknown variants and run ids, --version, -h, the 80-column status layout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli.narrow import narrow_rows
from tests.kit.home import mr_yaml
from tests.kit.process import FAST_RUNNER, FAST_SIM, cli, cli_json, start_runner, stop_runner, wait_for


def _runner(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], capture_output=True, text=True, timeout=60)


def _home(tmp_path: Path) -> Path:
    (tmp_path / "strategies.d").mkdir()
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml())
    (tmp_path / "venues.yaml").write_text(FAST_SIM)
    (tmp_path / "runner.yaml").write_text(FAST_RUNNER)
    return tmp_path


def test_version_and_short_help() -> None:
    v = _runner("--version")
    assert v.returncode == 0 and v.stdout.startswith("runner ")
    for args in (["-h"], ["status", "-h"], ["fills", "--help"]):
        h = _runner(*args)
        assert h.returncode == 0 and "Usage: runner" in h.stdout, args
    assert "--install-completion" in _runner("-h").stdout


@pytest.mark.parametrize("cmd", [["status"], ["events"], ["fills"], ["positions"], ["guards"], ["dust"],
                                 ["pause", "MR_v13"], ["alerts", "test"], ["findings"], ["runs"],
                                 ["runs", "show", "bt-x"], ["runs", "delete", "bt-x"], ["watch", "--once"]])
def test_a_home_without_a_deployment_is_exit_2_and_creates_nothing(tmp_path: Path, cmd: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for home in (empty, tmp_path / "missing"):
        res = cli(home, *cmd)
        assert res.returncode == 2, (cmd, res.stdout, res.stderr)
        assert "no deployment here" in res.stderr and "Traceback" not in res.stderr
    assert list(empty.iterdir()) == [] and not (tmp_path / "missing").exists()


def test_unknown_variants_and_run_ids_are_exit_2_everywhere(tmp_path: Path) -> None:
    home = _home(tmp_path)
    cli_json(home, "status")  # the ledger exists, MR_v13 is not deployed yet: nothing is known
    for cmd in (["fills", "--variant", "nope"], ["positions", "--variant", "nope"], ["events", "nope"],
                ["pause", "nope"], ["triage", "nope"], ["fills", "--run", "bt-nope"], ["positions", "--run", "bt-nope"],
                ["runs", "show", "bt-nope"], ["runs", "delete", "bt-nope"]):
        res = cli(home, *cmd)
        assert res.returncode == 2, (cmd, res.stdout, res.stderr)
        assert "unknown" in res.stderr and "Traceback" not in res.stderr, cmd
    assert cli(home, "fills").returncode == 0


def test_status_says_whether_a_runner_is_running(tmp_path: Path) -> None:
    home = _home(tmp_path)
    before = cli_json(home, "status")["runner"]
    assert before["state"] == "stopped" and before["pid"] is None
    assert "stopped" in cli(home, "status").stdout.splitlines()[0]
    proc = start_runner(home)
    try:
        wait_for(lambda: cli_json(home, "status")["runner"]["state"] == "running", timeout=120)  # a bound
        doc = cli_json(home, "status")
        assert doc["runner"]["pid"] == proc.pid and doc["runner"]["heartbeat_age_s"] >= 0
        first = cli(home, "status").stdout.splitlines()[0]
        assert first.startswith("runner: running on ") and f"pid {proc.pid}" in first
    finally:
        stop_runner(proc)  # SIGTERM, as systemd and docker stop send it: a graceful stop, exit 0
    assert proc.returncode == 0
    after = cli_json(home, "status")
    assert after["runner"]["state"] == "stopped" and after["runner"]["pid"] == proc.pid
    assert all(not v["running"] for v in after["variants"])
    text = cli(home, "status").stdout
    assert text.startswith("runner: STOPPED") and "MR_v13" in text and "not being run" in text


def _variant(vid: str, pnl: float, reason: str, legs: dict[str, float]) -> dict[str, object]:
    return {"id": vid, "state": "quarantined", "reason": reason, "detail": "x" * 60, "pnl": pnl,
            "pnl_today": -pnl, "position": sum(legs.values()), "positions": legs, "running": True}


def test_status_fits_80_columns_and_never_cuts_pnl() -> None:
    vs = [_variant("funding-arb_v1", -1234567.891, "rejected", {"BTC-PERP": -0.0667, "BTC-USD": 0.0667}),
          _variant("MR_v13", 12.5, "risk_block", {"BTC-USD": 0.25})]
    lines = narrow_rows(vs, 80)
    assert all(len(line) <= 80 for line in lines)
    assert "-1,234,567.89" in lines[1] and "1,234,567.89" in lines[1] and "12.50" in lines[2]
    assert lines[1].startswith("funding-arb_v1") and "…" in lines[1]


def test_status_json_is_one_document(tmp_path: Path) -> None:
    home = _home(tmp_path)
    res = cli(home, "status", "--json")
    assert res.returncode == 0
    assert set(json.loads(res.stdout)) >= {"variants", "errors", "runner", "runners"}


def test_todays_pnl_folds_yesterdays_cost(tmp_path: Path) -> None:
    """Bought 2 @100 yesterday, sold 1 @110 today (fee 1): today's realized is 10 - 1 = 9."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from runner.cli.views import status_view
    from runner.ledger import models as m
    from runner.ledger.store import Ledger, NewFill

    led = Ledger(f"sqlite:///{tmp_path}/ledger.db")
    now = datetime.now(UTC).replace(hour=12) if datetime.now(UTC).hour >= 12 else datetime.now(UTC)
    led.record_deployment(m.Deployment(variant="MR_v1", name="MR", version=1, kind="mean_reversion", venue="sim",
                                       mode="paper", content_hash="h", yaml_text="", path="p", deployed_at=now),
                          "active")

    def fill(i: int, side: str, qty: str, price: str, fee: str, ts: datetime) -> NewFill:
        return NewFill(f"k{i}", None, m.MAIN_RUN, "MR_v1", "sim", "BTC-USD", side, Decimal(qty), Decimal(price),
                       Decimal(fee), ts)

    led.apply_fills([fill(1, "buy", "2", "100", "0", now - timedelta(days=1)),
                     fill(2, "sell", "1", "110", "1", now)])
    (v,) = status_view(led)["variants"]
    unreal = v["pnl"] - 9.0  # realized total is 10 - 1
    assert v["pnl_today"] == pytest.approx(9.0 + unreal)
