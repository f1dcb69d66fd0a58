"""A ledger opened read-only at the database level, for every reader that must never write.

The agent and the dashboard read through this: SQLite connections run with ``PRAGMA
query_only``, PostgreSQL sessions are read-only transactions, so nothing is written even by
mistake. A deployment with no ledger yet reads as an empty in-memory one (nothing created).
"""

from __future__ import annotations

from sqlalchemy import event

from runner.ledger.store import Ledger, sqlite_path


def _sqlite_query_only(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def _pg_read_only(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cur.close()
    dbapi_conn.commit()


def open_readonly(url: str) -> Ledger:
    """A ledger whose every connection refuses writes (an empty one if the file is missing)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        led = Ledger("sqlite://")  # schema in memory: nothing is written to the deployment
    else:
        led = Ledger(url, create=False)
        led.engine.dispose()  # connections opened so far predate the read-only hook
    hook = _sqlite_query_only if led.url.startswith("sqlite") else _pg_read_only
    event.listen(led.engine, "connect", hook)
    return led
