"""PostgreSQL session limits that keep one frozen runner from stalling the others.

Runners share a PostgreSQL ledger. A runner frozen in the middle of a transaction (SIGSTOP, a
paused VM, a machine under heavy load) keeps that transaction's locks: the row lock of a fenced
order write on its variant's state row, the table locks of its inserts. Without limits:

- a takeover's lease update waits on that row lock for as long as the freeze lasts, so the
  failover the lease promises never happens, and the taker's whole control loop (renewals of
  its own leases included) hangs with it; an operator's pause waits the same way;
- a DDL statement (``CREATE INDEX``) at another runner's start waits on the table locks, and
  every later write to that table queues behind the DDL: all runners stall.

So: the server ends a session idle inside a transaction for ``IDLE_IN_TRANSACTION_S`` (its
locks go, its uncommitted writes are rolled back: a fenced order not committed was never sent,
as every order is recorded before it is sent), a lease is taken with a short lock wait (a
row locked by another runner is as good as held: try again on the next pass), and a start
issues no DDL for what exists already (see ``runner.ledger.database.read_indexes``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Far above any ledger transaction's own length (milliseconds) and any scheduling stall of a
# live runner; about the default lease (10 s), so a frozen holder delays a failover by at most
# that much once its lease has run out.
IDLE_IN_TRANSACTION_S = 10.0
LEASE_LOCK_WAIT_S = 1.0


def pg_engine_args(url: str, idle_in_transaction_s: float = IDLE_IN_TRANSACTION_S) -> dict[str, Any]:
    """``create_engine`` arguments for a PostgreSQL ledger: the server-side idle-in-transaction
    limit on every session (libpq ``options``). Nothing for another database."""
    if not url.startswith("postgresql"):
        return {}
    return {"connect_args": {"options": f"-c idle_in_transaction_session_timeout={int(idle_in_transaction_s * 1000)}"}}


def limit_lock_wait(conn: Connection, seconds: float = LEASE_LOCK_WAIT_S) -> None:
    """In this transaction only, give up on a lock after ``seconds`` (PostgreSQL; a no-op on
    SQLite, whose busy timeout covers the whole database)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL lock_timeout = {int(seconds * 1000)}"))


def is_lock_timeout(exc: BaseException) -> bool:
    """The error a lock wait limited by ``limit_lock_wait`` ends with (SQLSTATE 55P03)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03"


def ended_idle_transaction(exc: BaseException) -> bool:
    """The server ended this session because it sat idle inside a transaction longer than the
    limit above (SQLSTATE 25P03): the runner was frozen or paused mid-transaction, and that
    transaction was rolled back."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == "25P03"
