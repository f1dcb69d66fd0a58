"""A runner frozen inside a ledger transaction (SIGSTOP, a paused VM, a starved process) on a
shared PostgreSQL ledger: its locks must not stall the other runners, and its variant fails
over once its lease has run out.

The frozen runner is a real ledger handle left inside a transaction through the ledger's own
code: the fence check of an order write (the variant's state row locked), an uncommitted fill
(the fills table locked against DDL).
"""

from __future__ import annotations

import threading
from decimal import Decimal

from runner.ledger import models as m
from runner.ledger.store import Ledger, NewFill
from runner.ledger.types import utcnow
from tests.kit.process import wait_for
from tests.kit.runner_time import wait_lease_lapsed


def _deployed(url: str) -> Ledger:
    led = Ledger(url)
    led.ensure_run("main", "main")
    with led.engine.begin() as conn:
        conn.execute(m.VariantState.__table__.insert().values(variant="MR_v13", state="active", reason="start",
                                                             since=utcnow()))
    return led


def _frozen_in_a_fenced_write(url: str, idle_in_transaction_s: float):  # type: ignore[no-untyped-def]
    """A holder of MR_v13's lease left inside an order write, past its fence check (the row lock)."""
    frozen = Ledger(url, idle_in_transaction_s=idle_in_transaction_s)
    assert frozen.acquire_lease("MR_v13", "host:1:a", 1.5) == 1
    conn = frozen.engine.connect()
    tx = conn.begin()
    Ledger._check_fence(conn, "MR_v13", frozen.fences["MR_v13"])
    return frozen, conn, tx


def test_a_taker_does_not_hang_on_a_lease_row_a_frozen_holder_keeps_locked(pg_url: str) -> None:
    _deployed(pg_url).close()
    frozen, conn, tx = _frozen_in_a_fenced_write(pg_url, idle_in_transaction_s=600)
    taker = Ledger(pg_url)
    wait_lease_lapsed(taker, "MR_v13")
    # the row is locked: the taker gives up after its short lock wait (its control loop goes on)
    # and tries again on its next pass
    got: list[int | None] = []
    t = threading.Thread(target=lambda: got.extend(taker.acquire_lease("MR_v13", "host:2:b", 1.5) for _ in "ab"),
                         daemon=True)
    t.start()
    t.join(120)  # a bound, not a measurement: without the lock wait limit this waits out the freeze
    hung = t.is_alive()
    tx.rollback()  # the holder thaws and ends its transaction: the next attempt takes the lease
    t.join(120)
    assert not hung and got == [None, None]
    conn.close()
    assert taker.acquire_lease("MR_v13", "host:2:b", 1.5) == 2
    frozen.close()
    taker.close()


def test_the_server_ends_a_frozen_holders_transaction_so_its_variant_fails_over(pg_url: str) -> None:
    _deployed(pg_url).close()
    frozen, conn, tx = _frozen_in_a_fenced_write(pg_url, idle_in_transaction_s=3)
    taker = Ledger(pg_url)
    wait_lease_lapsed(taker, "MR_v13")
    # without the server's limit the row stays locked for as long as the freeze lasts
    wait_for(lambda: taker.acquire_lease("MR_v13", "host:2:b", 1.5) is not None, timeout=60, every=0.2)
    st = taker.state("MR_v13")
    assert st is not None and st.owner == "host:2:b" and st.epoch == 2
    # the thawed runner's transaction was rolled back: it can commit nothing
    try:
        tx.commit()
    except Exception:  # noqa: BLE001 - the connection was closed by the server, whatever its class
        pass
    else:
        raise AssertionError("the frozen transaction committed after its session was ended")
    finally:
        conn.close()
    frozen.close()
    taker.close()


def test_a_runner_starts_while_another_is_frozen_holding_a_write_on_fills(pg_url: str) -> None:
    _deployed(pg_url).close()
    frozen = Ledger(pg_url, idle_in_transaction_s=600)
    conn = frozen.engine.connect()
    tx = conn.begin()
    conn.execute(m.Fill.__table__.insert().values(
        fill_key="sim:F1", client_order_id=None, run_id="main", variant="MR_v13", account="sim",
        instrument="BTC-USD", side="buy", qty=Decimal("0.1"), price=Decimal(100), fee=Decimal(0),
        liquidity="taker", ts=utcnow()))
    opened: list[Ledger] = []
    t = threading.Thread(target=lambda: opened.append(Ledger(pg_url)), daemon=True)
    t.start()
    t.join(120)  # a bound, not a measurement: before the fix this waited for the frozen transaction forever
    assert not t.is_alive() and opened, "opening the ledger waited on another runner's open transaction"
    # ... and the new handle writes to fills while the frozen one still holds its transaction
    new = opened[0]
    new.apply_fills([NewFill("sim:F2", None, "main", "MR_v13", "sim", "BTC-USD", "sell", Decimal("0.1"),
                             Decimal(101), Decimal(0), utcnow())])
    tx.commit()  # still alive: the frozen transaction was never ended by the start
    conn.close()
    assert {f.fill_key for f in new.fills(limit=None)} >= {"sim:F1", "sim:F2"}
    new.close()
    frozen.close()

