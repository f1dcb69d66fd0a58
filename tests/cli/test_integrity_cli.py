"""The integrity commands end to end, as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.kit.deployment import make_dust
from tests.kit.desk import Desk

VARIANTS = {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",), "MR_v3": ("BTC-USD",)}


def runner(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=timeout)


def _dusty_home(tmp_path: Path) -> Path:
    d = Desk.create(tmp_path, VARIANTS)
    for v in VARIANTS:
        make_dust(d, v)
    d.retire("MR_v1", steps=3)
    d.retire("MR_v3", steps=3)
    d.close()
    return d.home


def _venue_orders(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / "state" / "sim" / "sim.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])


def _run_past_start(home: Path) -> None:
    """`runner run` until it holds the active dusty variant and has made a few passes with it
    (its start, order polls and position sync done): a fixed duration may end, under load,
    before the runner got that far, and the check after it would pass without having tested."""
    from runner.ledger.store import Ledger, default_url
    from tests.kit.process import start_runner, stop_runner, wait_for
    from tests.kit.runner_time import wait_heartbeats

    led = Ledger(default_url(home))
    proc = start_runner(home, "--quiet", max_s=120)
    try:
        def holds_mr_v2() -> bool:
            st = led.state("MR_v2")
            return st is not None and st.owner is not None and f":{proc.pid}:" in st.owner

        wait_for(holds_mr_v2, timeout=90)
        wait_heartbeats(led, 3, pid=proc.pid)  # passes with the dusty variant running
        st = led.state("MR_v2")
        assert st is not None and st.state == "active", st
    finally:
        stop_runner(proc)
    assert proc.returncode == 0, (home / "runner.log").read_text()
    log = (home / "runner.log").read_text()
    assert "Traceback" not in log
    led.close()


def test_dust_phantom_closes_replay(tmp_path: Path) -> None:
    home = _dusty_home(tmp_path)
    before = _venue_orders(home)
    _run_past_start(home)
    assert _venue_orders(home) == before  # start-up sent nothing because of dust

    dust = json.loads(runner(home, "dust", "--json").stdout)["dust"]
    assert sorted(r["variant"] for r in dust) == ["MR_v1", "MR_v2", "MR_v3"]
    assert set(dust[0]) >= {"venue", "instrument", "variant", "qty", "value", "age_s"}

    plan = runner(home, "close-dust")
    assert plan.returncode == 0 and "--confirm" in plan.stdout
    assert _venue_orders(home) == before

    done = runner(home, "close-dust", "--confirm", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["executed"][0]["status"] == "done" and _venue_orders(home) == before + 1
    assert json.loads(runner(home, "dust", "--json").stdout)["dust"] == []

    audit = runner(home, "audit", "--check", "retired_flat", "--check", "fills_vs_positions",
                   "--check", "ledger_vs_venue", "--json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout) == {"findings": []}


def test_audit_json_shape_exit_codes_and_bad_check(tmp_path: Path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.02")
    d.force_retired("MR_v1")
    d.close()
    res = runner(d.home, "audit", "--check", "retired_flat", "--json")
    assert res.returncode == 1
    [f] = json.loads(res.stdout)["findings"]
    assert set(f) >= {"check", "severity", "variant", "evidence", "runbook"}
    assert (f["check"], f["severity"], f["variant"], f["runbook"]) == ("retired_flat", "critical", "MR_v1",
                                                                       "invisible-exposure")
    assert runner(d.home, "audit", "--check", "nope").returncode == 2
    rec = runner(d.home, "reconcile", "--json")
    assert rec.returncode == 0 and json.loads(rec.stdout) == {"adopted": [], "findings": []}
