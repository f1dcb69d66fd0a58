"""Fencing: a runner that lost its lease records and sends nothing; a dead holder is replaced at once.

Real `runner run` processes on one deployment and one ledger. The owner is frozen with SIGSTOP
past its lease; another runner takes the variant over; the owner is thawed with SIGCONT and
must not place a single order, while the new owner trades on without a duplicate-key crash.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from runner.ledger.store import Ledger
from runner.lifecycle import State
from tests.kit.home import make_home, mr_yaml
from tests.kit.process import FAST_SIM, QUIET_AUDITS, start_runner, stop_runner, wait_for

BUSY = mr_yaml(window=3, entry_z=0.2, exit_z=0.1, max_hold="5s", order_notional=500)  # trades all the time


def _orders(led: Ledger) -> int:
    from sqlalchemy import text

    with led.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM orders WHERE variant = 'MR_v13'")).scalar_one())


def _owner(led: Ledger) -> str | None:
    st = led.state("MR_v13")
    return st.owner if st else None


def _log(home: Path, name: str) -> str:
    return (home / name).read_text() if (home / name).exists() else ""


def test_split_brain_a_thawed_owner_places_nothing_and_the_new_owner_does_not_crash(tmp_path: Path, pg_url: str) -> None:
    home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\nlease_ttl_s: 2\n").path
    (home / "strategies.d" / "MR_v13.yaml").write_text(BUSY)
    led = Ledger(pg_url)
    a = start_runner(home, "--db", pg_url, max_s=120)
    b = None
    try:
        wait_for(lambda: _orders(led) >= 3, timeout=60)
        owner_a = _owner(led)
        b = start_runner(home, "--db", pg_url, max_s=120)
        time.sleep(2)
        assert _owner(led) == owner_a  # b keeps out while a renews
        a.send_signal(signal.SIGSTOP)
        wait_for(lambda: _owner(led) not in (None, owner_a), timeout=20)  # b took it over
        log_a = (home / "runner.log").stat().st_size
        a.send_signal(signal.SIGCONT)
        time.sleep(4)
        wait_for(lambda: _orders(led) >= 3, timeout=5)
        assert b.poll() is None, "the new owner is still running"
        assert a.poll() is None, "the stale owner is still running (it only let go of the variant)"
    finally:
        if a.poll() is None:
            os.kill(a.pid, signal.SIGCONT)
        stop_runner(a)
        if b is not None:
            stop_runner(b)
    raw = (home / "runner.log").read_bytes()
    text, after = raw.decode(), raw[log_a:].decode(errors="replace")  # log_a counts bytes ("…" is three)
    assert "Traceback" not in text and "duplicate key" not in text
    assert "lease lost to another runner; this runner stops trading" in after  # the console cuts at 80 columns
    assert "ledger unavailable" not in text
    st = led.state("MR_v13")
    assert st is not None and st.state in (State.ACTIVE, State.WARMING) and st.owner is None  # released at stop
    # every order the venue saw was recorded first, once: the stale owner sent nothing unrecorded
    with sqlite3.connect(home / "state" / "sim" / "sim.db") as venue:
        sent = [r[0] for r in venue.execute("SELECT client_order_id FROM orders")]
    from sqlalchemy import text as sql

    with led.engine.connect() as conn:
        recorded = set(conn.execute(sql("SELECT client_order_id FROM orders")).scalars())
    assert sent and set(sent) <= recorded
    led.close()


def test_a_restart_on_the_same_host_takes_over_from_a_dead_holder_at_once(tmp_path: Path) -> None:
    home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\nlease_ttl_s: 300\n").path
    (home / "strategies.d" / "MR_v13.yaml").write_text(BUSY)
    led = Ledger(f"sqlite:///{home / 'state' / 'ledger.db'}")
    a = start_runner(home)
    try:
        wait_for(lambda: _owner(led) is not None, timeout=60)
        dead = _owner(led)
        a.send_signal(signal.SIGKILL)
        a.wait()
    finally:
        stop_runner(a)
    b = start_runner(home)
    try:
        wait_for(lambda: _owner(led) not in (None, dead), timeout=30)  # not after the 300 s lease
        n = _orders(led)
        wait_for(lambda: _orders(led) > n, timeout=30)  # and it trades
    finally:
        stop_runner(b)
    led.close()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_an_order_written_with_a_stale_token_is_refused(tmp_path: Path, db: str, request: pytest.FixtureRequest) -> None:
    from runner.errors import FencedError
    from tests.kit.home import drive

    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    h = make_home(tmp_path, runner_yaml="lease_ttl_s: 1.5\n")
    h.add_variant("MR_v13.yaml", mr_yaml())
    a = h.runtime(Ledger(url))
    a.start()
    drive(a, 3)
    b = h.runtime(Ledger(url))
    b.start()
    time.sleep(1.7)  # a stalls past its lease
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)
    assert list(b.engines) == ["MR_v13"]
    eng = a.engines["MR_v13"]
    from runner.kinds.base import Intent, MarketEvent

    book = eng.venue.book("BTC-USD")
    ev = MarketEvent(book.ts, "BTC-USD", book.bids[0][0], book.asks[0][0])
    orders = _orders(a.ledger)
    a.ledger.fences["MR_v13"].valid_until = time.monotonic() + 60  # even if its clock says the lease is fine
    with pytest.raises(FencedError):  # the token moved on: checked in the order's own transaction
        eng.place(Intent("BTC-USD", "buy", "entry", qty=0.01, urgent=True), ev)
    assert _orders(a.ledger) == orders
    a.step()
    assert list(a.engines) == []
    b.stop()
    a.stop()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_transition_written_with_a_stale_token_is_refused(tmp_path: Path, db: str, request: pytest.FixtureRequest) -> None:
    """A thawed runner's state change is refused like its orders (the token checked in the
    transition's own transaction); the new owner and the operator still move the variant."""
    from runner.engine.lifecycle_driver import transition
    from runner.lifecycle import Trigger
    from tests.kit.home import drive, drive_until

    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    h = make_home(tmp_path, runner_yaml="lease_ttl_s: 1.5\n")
    h.add_variant("MR_v13.yaml", mr_yaml())
    a = h.runtime(Ledger(url))
    a.start()
    drive_until(a, lambda: "MR_v13" in a.engines and a.engines["MR_v13"].state is State.ACTIVE)
    eng = a.engines["MR_v13"]
    b = h.runtime(Ledger(url))
    b.start()
    time.sleep(1.7)  # a stalls past its lease
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)
    assert list(b.engines) == ["MR_v13"]
    before = len(a.ledger.transitions("MR_v13"))
    a.ledger.fences["MR_v13"].valid_until = time.monotonic() + 60  # even if its clock says the lease is fine
    assert a.life.fire(eng, Trigger.PAUSE, "operator", "from a thawed runner", "operator") is None
    assert eng.fenced and "transition not recorded" in eng.fenced
    st = a.ledger.state("MR_v13")
    assert st is not None and st.state == State.ACTIVE.value and st.owner == b.runner_id  # nothing written
    assert len(a.ledger.transitions("MR_v13")) == before
    a.step()
    assert list(a.engines) == []  # the stale runner let go
    # the operator (a handle without a lease) can always pause; the owner adopts it
    op = Ledger(url)
    row = transition(op, "MR_v13", State.ACTIVE, Trigger.PAUSE, "operator", "checked", "operator")
    assert row.to_state == State.PAUSED.value
    drive(b, 1)
    assert b.engines["MR_v13"].state is State.PAUSED
    op.close()
    b.stop()
    a.stop()


@pytest.fixture
def own_pg():  # type: ignore[no-untyped-def]
    from tests.kit.pgserver import private_pg

    yield from private_pg()


def test_a_postgresql_restart_under_two_runners_is_survived(tmp_path: Path, own_pg) -> None:  # type: ignore[no-untyped-def]
    home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\nlease_ttl_s: 5\n").path
    (home / "strategies.d" / "MR_v13.yaml").write_text(BUSY)
    a = start_runner(home, "--db", own_pg.url, max_s=120)
    b = start_runner(home, "--db", own_pg.url, max_s=120)
    try:
        led = Ledger(own_pg.url)
        wait_for(lambda: _orders(led) >= 2, timeout=60)
        led.close()
        own_pg.stop()
        time.sleep(8)  # the 8 s restart
        assert a.poll() is None and b.poll() is None, "both runners outlive the database"
        own_pg.start()
        led = Ledger(own_pg.url)
        n = _orders(led)
        wait_for(lambda: _orders(led) > n + 2, timeout=60)  # trading resumed
        assert a.poll() is None and b.poll() is None
    finally:
        stop_runner(a)
        stop_runner(b)
    log = (home / "runner.log").read_text()
    assert "Traceback" not in log
    assert "ledger unavailable" in log and "ledger reachable again" in log
    st = led.state("MR_v13")
    assert st is not None and st.state in (State.ACTIVE, State.WARMING)
    led.close()
