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

from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger
from runner.lifecycle import State
from tests.kit.home import make_home, mr_yaml
from tests.kit.process import FAST_SIM, QUIET_AUDITS, start_runner, stop_runner, wait_for
from tests.kit.runner_time import wait_heartbeats, wait_lease_lapsed

# The taker's own lease outlives the test: the stale runner's next step must find the variant
# held, and not take it back after a short lease of the taker lapsed on a loaded machine.
TAKER_LEASE_S = 120
BUSY = mr_yaml(window=3, entry_z=0.2, exit_z=0.1, max_hold="5s", order_notional=500)  # trades all the time


def _orders(led: Ledger) -> int:
    from sqlalchemy import text

    with led.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM orders WHERE variant = 'MR_v13'")).scalar_one())


def _owner(led: Ledger) -> str | None:
    st = led.state("MR_v13")
    return st.owner if st else None


def _log(home: Path, name: str, offset: int = 0) -> str:
    """A runner's output from byte ``offset`` on ("…" is three bytes)."""
    return (home / name).read_bytes()[offset:].decode(errors="replace") if (home / name).exists() else ""


def _let_go(log: str) -> bool:
    """The runner let go of MR_v13: its renewal found the lease gone, or an order write its token
    stale, whichever came first after the thaw (the console cuts lines at 80 columns)."""
    return any(f"MR_v13: {why}" in log for why in ("lease lost to another runner", "order refused by the lease fence"))


def test_split_brain_a_thawed_owner_places_nothing_and_the_new_owner_does_not_crash(tmp_path: Path, pg_url: str) -> None:
    # the lease is generous against scheduling jitter: a renews every second, and on a loaded
    # machine one of its loop passes can take a second or two
    home = make_home(tmp_path / "desk", venues_yaml=FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\nlease_ttl_s: 6\n").path
    (home / "strategies.d" / "MR_v13.yaml").write_text(BUSY)
    led = Ledger(pg_url)
    a = start_runner(home, "--db", pg_url, max_s=180)
    b = None
    try:
        wait_for(lambda: _orders(led) >= 3, timeout=60)
        owner_a = _owner(led)
        b = start_runner(home, "--db", pg_url, max_s=180, log_name="runner-b.log")
        wait_heartbeats(led, 3, pid=b.pid)  # b is up and has tried to take the variant (each pass tries)
        assert _owner(led) == owner_a  # b keeps out while a renews
        a.send_signal(signal.SIGSTOP)
        wait_for(lambda: _owner(led) not in (None, owner_a), timeout=60)  # b took it over
        log_a = (home / "runner.log").stat().st_size
        n = _orders(led)
        a.send_signal(signal.SIGCONT)
        wait_for(lambda: _let_go(_log(home, "runner.log", log_a)), timeout=60)  # a's first pass after the thaw
        wait_for(lambda: _orders(led) > n, timeout=60)  # the new owner trades on
        wait_heartbeats(led, 2, pid=a.pid)  # a lives on past its thaw (and places nothing: below)
        assert b.poll() is None, "the new owner is still running"
        assert a.poll() is None, "the stale owner is still running (it only let go of the variant)"
    finally:
        if a.poll() is None:
            os.kill(a.pid, signal.SIGCONT)
        stop_runner(a)
        if b is not None:
            stop_runner(b)
    text_a, after, text_b = _log(home, "runner.log"), _log(home, "runner.log", log_a), _log(home, "runner-b.log")
    for text in (text_a, text_b):
        assert "Traceback" not in text and "duplicate key" not in text
    assert _let_go(after)
    assert "ledger unavailable" not in text_b  # a frozen owner does not disturb the new one
    # the frozen owner's open transaction, if it was frozen inside one, was ended by the server
    # (so that its locks went): it says so once and finds the ledger again
    assert "ledger unavailable" not in after or "ledger reachable again" in after
    ended = "ledger server ended this runner's idle transaction"  # named, not "ledger unavailable"
    assert ended not in after or "ledger reachable again" in after[after.index(ended):]
    st = led.state("MR_v13")
    why = [(t.to_state, t.reason, t.detail) for t in led.transitions("MR_v13")]
    assert st is not None and st.state in (State.ACTIVE, State.WARMING) and st.owner is None, why  # released at stop
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
        wait_for(lambda: _owner(led) not in (None, dead), timeout=120)  # not after the 300 s lease
        n = _orders(led)
        wait_for(lambda: _orders(led) > n, timeout=120)  # and it trades
    finally:
        stop_runner(b)
    led.close()


def _two_runners(tmp_path: Path, db: str, request: pytest.FixtureRequest) -> tuple[Runtime, Runtime]:
    """Runner ``a`` holds MR_v13 on a 1.5 s lease and has traded a few steps; runner ``b`` (a long
    lease of its own) is started on the same ledger, ready to take the variant once ``a`` stalls."""
    from tests.kit.home import drive

    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    h = make_home(tmp_path, runner_yaml="lease_ttl_s: 1.5\n")
    h.add_variant("MR_v13.yaml", mr_yaml())
    a = h.runtime(Ledger(url))
    a.start()
    drive(a, 3)
    b = h.runtime(Ledger(url), lease_ttl_s=TAKER_LEASE_S)
    b.start()
    return a, b


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_an_order_written_with_a_stale_token_is_refused(tmp_path: Path, db: str, request: pytest.FixtureRequest) -> None:
    from runner.errors import FencedError
    from tests.kit.home import drive

    a, b = _two_runners(tmp_path, db, request)
    wait_lease_lapsed(b.ledger, "MR_v13", a.runner_id)  # a stalls past its lease
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
def test_a_runner_frozen_between_an_orders_write_and_its_send_does_not_send_it(
        tmp_path: Path, db: str, request: pytest.FixtureRequest) -> None:
    """The write was fenced correctly, then the runner froze past its lease before the send and
    another runner took over: on the thaw the order stays unsent (it would trade behind the new
    owner's back; in CI the new owner's exit then met a reduce-only refusal and quarantined)."""
    from runner.errors import FencedError
    from runner.kinds.base import Intent, MarketEvent
    from tests.kit.home import drive

    a, b = _two_runners(tmp_path, db, request)
    eng = a.engines["MR_v13"]
    written: list[str] = []
    record = a.ledger.record_order

    def record_then_freeze(order, conn=None):  # type: ignore[no-untyped-def]
        record(order, conn)
        if conn is not None:  # the inner call, inside the write's transaction
            return
        written.append(order["client_order_id"])
        wait_lease_lapsed(b.ledger, "MR_v13", a.runner_id)  # frozen here, past the lease...
        b.periodic.last["heartbeat"] = 0
        drive(b, 1)  # ...while the other runner takes the variant over
        assert list(b.engines) == ["MR_v13"]

    a.ledger.record_order = record_then_freeze  # type: ignore[method-assign]
    book = eng.venue.book("BTC-USD")
    ev = MarketEvent(book.ts, "BTC-USD", book.bids[0][0], book.asks[0][0])
    with pytest.raises(FencedError, match="recorded but not sent"):
        eng.place(Intent("BTC-USD", "buy", "entry", qty=0.01, urgent=True), ev)
    assert len(written) == 1 and eng.venue.order(written[0], "BTC-USD") is None  # the venue never heard of it
    a.step()
    assert list(a.engines) == []  # the thawed runner let go
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
    b = h.runtime(Ledger(url), lease_ttl_s=TAKER_LEASE_S)
    b.start()
    wait_lease_lapsed(b.ledger, "MR_v13", a.runner_id)  # a stalls past its lease
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
