"""Hostile files dropped into a running `runner run`: it keeps trading, reports them, and stops
on SIGTERM (a FIFO no longer hangs it)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from runner.ledger.store import Ledger
from tests.hardening.test_hostile_files import ALIAS_BOMB
from tests.kit.home import make_home, mr_yaml
from tests.kit.process import FAST_SIM, QUIET_AUDITS, cli, start_runner, stop_runner, wait_for

BUSY = mr_yaml(window=3, entry_z=0.2, exit_z=0.1, max_hold="5s", order_notional=500)


def _orders(led: Ledger) -> int:
    from sqlalchemy import text

    with led.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM orders WHERE variant = 'MR_v13'")).scalar_one())


def test_hostile_files_dropped_into_a_running_runner_leave_it_trading(tmp_path: Path) -> None:
    home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\n").path
    deployed = home / "strategies.d" / "MR_v13.yaml"
    deployed.write_text(BUSY)
    led = Ledger(f"sqlite:///{home / 'state' / 'ledger.db'}")
    proc = start_runner(home, max_s=120)
    try:
        wait_for(lambda: _orders(led) >= 2, timeout=60)
        sd = home / "strategies.d"
        os.mkfifo(sd / "Fifo_v1.yaml")
        (sd / "Zero_v1.yaml").symlink_to("/dev/zero")
        (sd / "Bomb_v1.yaml").write_text(ALIAS_BOMB)
        (sd / "Nul_v1.yaml").write_bytes(BUSY.encode() + b"\x00")
        (sd / "Deep_v1.yaml").write_text("a: " + "[" * 500 + "]" * 500)
        (sd / "Loop_v1.yaml").write_text("a: &x [*x]\n")
        (sd / "Key_v1.yaml").write_text("? [a, b]\n: 1\n")
        (sd / "Big_v1.yaml").write_text("notes: '" + "x" * (3 << 20) + "'\n")
        with open(deployed, "r+") as fh:  # an editor's save: truncate, then write the same text
            fh.truncate(0)
            fh.flush()
            time.sleep(0.5)
            fh.write(BUSY)
        hostile = {"Fifo_v1.yaml", "Zero_v1.yaml", "Bomb_v1.yaml", "Nul_v1.yaml", "Deep_v1.yaml", "Loop_v1.yaml",
                   "Key_v1.yaml", "Big_v1.yaml"}

        def _status() -> dict:  # type: ignore[type-arg]
            return json.loads(cli(home, "status", "--json").stdout)

        def _bad() -> set[str]:
            return {Path(e["file"]).name for e in _status()["errors"]}

        # every file read (a fixed sleep was too short on a loaded machine), the momentary empty
        # file's error gone, and trading went on through all of it
        wait_for(lambda: hostile <= (b := _bad()) and "MR_v13.yaml" not in b, timeout=120, every=0.5)
        n = _orders(led)
        wait_for(lambda: _orders(led) > n + 2, timeout=120)  # still trading
        assert proc.poll() is None
        doc = _status()
        (mr,) = [v for v in doc["variants"] if v["id"] == "MR_v13"]
        assert mr["state"] == "active"
        bad = {Path(e["file"]).name for e in doc["errors"]}
        assert hostile <= bad
        assert "MR_v13.yaml" not in bad  # the momentary empty file's error is gone
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        assert proc.returncode == 0  # wait() above raises if SIGTERM no longer stops it
    finally:
        stop_runner(proc)
        led.close()
    log = (home / "runner.log").read_text()
    assert "Traceback" not in log and "retiring" not in log
