"""Opening a ledger database: the engine (SQLite with its pragmas, or PostgreSQL with its
session limits), the schema and its additive migrations. Apart from the rows, because it runs
once per handle and decides what a bad URL or a foreign file means (bad input, exit 2)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import event, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlmodel import SQLModel, create_engine

from runner.errors import BadInputError
from runner.ledger import models as m
from runner.ledger.pg_session import pg_engine_args
from runner.privacy import private_file

# status and positions read the funding rows apart (`fees` and `funding`): without it, a scan of every fill
READ_INDEXES = ("CREATE INDEX IF NOT EXISTS ix_fills_funding ON fills (run_id, variant) WHERE liquidity = 'funding'",)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite ledger URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = url.split("///", 1)[1]
    return None if not path or path == ":memory:" else Path(path)


def is_in_memory(url: str) -> bool:
    return url.startswith("sqlite") and sqlite_path(url) is None


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_engine(url: str, *, create: bool, idle_in_transaction_s: float) -> Engine:
    """The engine of ``url``; a SQLite file (and its folder, unless ``create`` is False) is made
    private. The caller turns the driver's errors into bad input."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            parent = path.parent
            if not parent.exists():
                if not create:
                    raise BadInputError(f"ledger database {path} does not exist")
                parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if create or path.exists():
                private_file(path)  # 0600; SQLite gives its -wal and -shm files the same mode
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, **pg_engine_args(url, idle_in_transaction_s))


def create_schema(engine: Engine) -> None:
    # Two processes opening a fresh ledger at once (a runner and a CLI call) race on
    # CREATE TABLE: the loser retries and then finds the tables there.
    for attempt in range(10):
        try:
            SQLModel.metadata.create_all(engine)
            break
        except DatabaseError:
            if attempt == 9:
                raise
            time.sleep(0.05 * (attempt + 1))
    read_indexes(engine)
    with engine.begin() as conn:
        row = conn.execute(select(m.SchemaVersion.__table__.c.version)).first()
        if row is None:
            try:
                conn.execute(insert(m.SchemaVersion.__table__).values(id=1, version=m.SCHEMA_VERSION))
            except IntegrityError:
                pass
        elif row[0] > m.SCHEMA_VERSION:
            raise BadInputError(
                f"ledger schema version {row[0]} is newer than this runner ({m.SCHEMA_VERSION})"
            )
        elif row[0] < m.SCHEMA_VERSION:
            migrate(conn, row[0])


def read_indexes(engine: Engine) -> None:
    """Indexes the read path needs (``runner.readmodels``), on new and existing ledgers alike.
    Partial, so they cost nothing on the rows they do not cover (a backtest's fills)."""
    from sqlalchemy import inspect, text

    have = {ix["name"] for ix in inspect(engine).get_indexes("fills")}
    for ddl in READ_INDEXES:
        if ddl.split(" IF NOT EXISTS ")[1].split()[0] in have:
            continue  # no DDL: on PostgreSQL it would wait on (and queue writes behind) other runners
        try:
            with engine.begin() as conn:
                conn.execute(text(ddl))
        except DatabaseError:
            pass  # another process created it at the same moment


def migrate(conn: Connection, version: int) -> None:
    """Additive migrations: a column added to a model since ``version`` is added to the table.

    Only nullable columns may be added this way; anything else needs an explicit step here.
    """
    from sqlalchemy import inspect, text

    insp = inspect(conn)
    for table in SQLModel.metadata.sorted_tables:
        have = {c["name"] for c in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name in have:
                continue
            if not col.nullable:
                raise BadInputError(f"ledger migration {version}->{m.SCHEMA_VERSION}: "
                                    f"{table.name}.{col.name} is NOT NULL and needs an explicit step")
            ddl = col.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}'))
    conn.execute(update(m.SchemaVersion.__table__).values(version=m.SCHEMA_VERSION))
