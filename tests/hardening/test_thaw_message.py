"""A runner thawed after the PostgreSQL server ended its idle transaction says so, not "ledger
unavailable", and then that the ledger is reachable again.

The server ends a session left idle inside a transaction (``runner.ledger.pg_session``), which
is what happens to a runner frozen (SIGSTOP, a paused VM) in the middle of a ledger write. The
runtime is real, on a real PostgreSQL ledger with a 1 s limit; its order write is frozen at its
fence check (the row lock a frozen holder keeps) until the server has ended the session.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import text

from runner.engine.report import Reporter
from runner.ledger.store import Ledger
from tests.kit.home import make_home, mr_yaml
from tests.kit.process import FAST_SIM, QUIET_AUDITS, wait_for

BUSY = mr_yaml(window=3, entry_z=0.2, exit_z=0.1, max_hold="5s", order_notional=500)  # trades all the time


@pytest.mark.parametrize("threads", [False, True], ids=["control_loop", "account_thread"])
def test_a_thawed_runner_names_the_ended_transaction_then_finds_the_ledger_again(
        tmp_path: Path, pg_url: str, threads: bool) -> None:
    h = make_home(tmp_path, FAST_SIM, runner_yaml=QUIET_AUDITS + "loop_interval_s: 0.05\n")
    h.add_variant("MR_v13.yaml", BUSY)
    ledger = Ledger(pg_url, idle_in_transaction_s=1)
    out = io.StringIO()
    rt = h.runtime(ledger)
    rt.reporter = Reporter(Console(file=out, width=400))
    rt.start()
    watcher = Ledger(pg_url)
    froze: list[int] = []
    check = ledger._check_fence

    def frozen_at_the_fence(conn, variant, fence, what="order not recorded"):  # type: ignore[no-untyped-def]
        check(conn, variant, fence, what)
        if froze:
            return
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        froze.append(pid)

        def ended() -> bool:
            with watcher.engine.connect() as c:
                return not c.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).first()

        wait_for(ended, timeout=60)  # frozen until the server has ended the session

    def orders() -> int:
        return len(watcher.orders(variant="MR_v13", limit=100000))

    state: dict[str, int] = {}

    def done() -> bool:
        if "armed" not in state and orders() >= 1:
            state["armed"] = orders()
            ledger._check_fence = frozen_at_the_fence  # type: ignore[method-assign]
        return "ledger reachable again" in out.getvalue() and orders() > state.get("armed", 1 << 30) + 1

    try:
        rt.run(duration=300, should_stop=done, concurrent=threads)  # a bound, not a measurement
    finally:
        rt.stop()
    log = out.getvalue()
    assert froze, "the order write was frozen"
    assert done(), log[-3000:]
    said = log.index("ledger server ended this runner's idle transaction after 1 s (frozen or paused?)")
    assert "ledger unavailable" not in log
    assert log.index("ledger reachable again", said) > said
    assert "Traceback" not in log
    watcher.close()
    ledger.close()
