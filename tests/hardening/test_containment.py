"""Each variant's failure stays in that variant; a ledger outage is waited out, not fatal."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from runner.engine.report import Reporter
from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger
from runner.lifecycle import State
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.deployment import variant_yaml
from tests.kit.desk import Desk
from tests.kit.home import drive, make_home, variant_text
from tests.kit.process import FAST_SIM, QUIET_AUDITS


class _Broken:
    """A strategy with a bug (a third-party kind can have one): it raises on every event."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def on_event(self, ev, views):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("division by zero in a buggy strategy")


def test_a_strategy_that_raises_is_quarantined_and_the_others_keep_trading(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    text = variant_text("MR_v2", {"window": 2, "entry_z": 1.25, "exit_z": 0.5, "order_notional": 1000},
                        {"max_order_notional": 100000, "max_position_notional": 1000000, "max_daily_loss": 100000},
                        data="{quotes: true}")  # an event on every quote change
    (desk.home / "strategies.d" / "MR_v2.yaml").write_text(text)
    desk.rt.rescan = True
    drive(desk.rt, 3)
    bad = desk.rt.engines["MR_v2"]
    bad.strategy = _Broken(bad.strategy)  # type: ignore[assignment]
    for _ in range(50):  # the sim market moves: quotes reach both strategies
        desk.now += 1.0
        drive(desk.rt, 1)
        st = desk.ledger.state("MR_v2")
        if st is not None and st.state == State.QUARANTINED:
            break
    st = desk.ledger.state("MR_v2")
    assert st is not None and st.state == State.QUARANTINED and "ZeroDivisionError" in st.detail
    assert desk.ledger.state("MR_v1").state == State.ACTIVE  # type: ignore[union-attr]
    before = desk.position("MR_v1")
    desk.trade("MR_v1", "buy", "0.01")
    assert desk.position("MR_v1") > before
    desk.close()


def test_a_database_outage_is_waited_out_and_trading_resumes(tmp_path: Path, pg_url: str) -> None:
    home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\n",
                     variants={"MR_v1": variant_yaml("MR_v1")}).path
    name = pg_url.rsplit("/", 1)[1]
    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    out = io.StringIO()
    ledger = Ledger(pg_url)
    rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), Reporter(Console(file=out, width=300)))
    rt.start()
    t0 = time.monotonic()
    phase = {"cut": False, "back": False}

    def script() -> bool:  # cut the database off at 1 s, let it back at 4 s, stop at 8 s
        t = time.monotonic() - t0
        if t > 1 and not phase["cut"]:
            phase["cut"] = True
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        if t > 4 and not phase["back"]:
            phase["back"] = True
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        return t > 8

    try:
        rt.run(should_stop=script)  # must not raise
        assert "ledger unavailable" in out.getvalue()
        assert "ledger reachable again" in out.getvalue()
        hb_before = ledger.state("MR_v1")
        assert hb_before is not None and hb_before.state in (State.WARMING, State.ACTIVE)
        rt.step()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        rt.stop()
        ledger.close()


def test_a_full_disk_under_the_ledger_is_waited_out_and_trading_resumes(tmp_path: Path) -> None:
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\n",
                         variants={"MR_v1": variant_yaml("MR_v1")}).path
        out = io.StringIO()
        ledger = Ledger(f"sqlite:///{disk / 'ledger.db'}")
        rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), Reporter(Console(file=out, width=300)))
        rt.start()
        filler = disk / "filler"
        t0 = time.monotonic()
        phase = {"full": False, "freed": False}

        def script() -> bool:  # fill the disk at 1 s, free it at 4 s, stop at 8 s
            t = time.monotonic() - t0
            if t > 1 and not phase["full"]:
                phase["full"] = True
                with open(filler, "wb") as fh:
                    try:
                        while True:
                            fh.write(b"\0" * 65536)
                            fh.flush()
                    except OSError:
                        pass
            if t > 4 and not phase["freed"]:
                phase["freed"] = True
                filler.unlink()
            return t > 8

        rt.run(should_stop=script)  # must not raise
        text = out.getvalue()
        assert "ledger unavailable" in text and "full" in text
        assert "ledger reachable again" in text
        assert ledger.state("MR_v1").state in (State.WARMING, State.ACTIVE)  # type: ignore[union-attr]
        rt.stop()
        ledger.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
