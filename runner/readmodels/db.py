"""A read-only handle on a ledger for the read models: plain DB-API, no ORM.

Importing SQLAlchemy and SQLModel costs about 0.35 s of CPU, more than a read command may take
in all. The read models therefore query through this handle: stdlib ``sqlite3`` for a SQLite
ledger (opened read-only), psycopg for PostgreSQL, or the raw connection of an open
:class:`~runner.ledger.store.Ledger` (the agent's, the dashboard's, an in-memory test ledger).
Queries are written with ``?`` placeholders; values come back as the driver gives them and are
normalized by :func:`ts`, :func:`dec` and :func:`flag`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.ledger.version import SCHEMA_VERSION


class ReadDB:
    """One connection, read only by convention (and by the file mode on SQLite)."""

    def __init__(self, conn: Any, dialect: str, url: str, owner: Any = None) -> None:  # noqa: ANN401
        self.conn = conn
        self.dialect = dialect  # "sqlite" | "postgresql"
        self.url = url
        self._owner = owner  # a Ledger whose raw connection this is (kept alive, returned on close)

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> ReadDB:
        """Open ``url`` for reading. A SQLite file that does not exist yet, or whose schema is
        older than this runner's, is opened once through the Ledger (which creates or migrates
        it) and then read here."""
        from runner.errors import BadInputError
        from runner.privacy import mask_text

        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            if path is None or not path.exists() or not _current(path):
                return cls.of_ledger_url(url)
            import sqlite3

            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout=10000")
            except sqlite3.Error as exc:
                raise BadInputError(f"cannot open ledger database {url!r}: {exc}") from None
            return cls(conn, "sqlite", url)
        if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            import psycopg

            dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
            try:
                conn = psycopg.connect(dsn, autocommit=True)
            except psycopg.Error as exc:
                raise BadInputError(mask_text(f"cannot open ledger database {url!r}: {exc}")) from None
            return cls(conn, "postgresql", url)
        return cls.of_ledger_url(url)

    @classmethod
    def of_ledger_url(cls, url: str) -> ReadDB:
        from runner.ledger.store import Ledger

        return cls.of(Ledger(url))

    @classmethod
    def of(cls, ledger: Any) -> ReadDB:  # noqa: ANN401 - a runner.ledger.store.Ledger
        """Read through an open Ledger's engine (in-memory ledgers, PostgreSQL handles in use)."""
        raw = ledger.engine.raw_connection()
        return cls(raw, ledger.engine.dialect.name, ledger.url, owner=(ledger, raw))

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a read handle never fails a read
            pass

    # --- queries ---------------------------------------------------------------------------
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._cursor() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:  # noqa: ANN401
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def iter(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[tuple[Any, ...]]:
        with self._cursor() as cur:
            cur.execute(self._sql(sql), tuple(params))
            while batch := cur.fetchmany(size):
                yield from batch

    def has_table(self, name: str) -> bool:
        """Tables added after a ledger was made exist once a runner of this version opened it."""
        if self.dialect == "sqlite":
            return self.one("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) > 0
        return self.one("SELECT to_regclass(?) IS NOT NULL", (name,)) is True

    def ts_param(self, dt: datetime) -> Any:  # noqa: ANN401
        """A UTC time as this dialect compares it (SQLite stores naive text, as SQLAlchemy writes it)."""
        if self.dialect == "sqlite":
            return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return dt

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("%", "%%").replace("?", "%s")

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()


def _sqlite_path(url: str) -> Path | None:
    if "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


def _current(path: Path) -> bool:
    """The file is a ledger at this runner's schema (else the Ledger migrates it first)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # not a ledger, or not one yet: the Ledger says what is wrong
    return row is not None and row[0] == SCHEMA_VERSION


def ts(v: Any) -> datetime | None:  # noqa: ANN401
    """A stored time as an aware UTC datetime (SQLite gives text, PostgreSQL a datetime)."""
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v if v.tzinfo else v.replace(tzinfo=UTC)


def iso(v: Any) -> str | None:  # noqa: ANN401
    d = ts(v)
    return None if d is None else d.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dec(v: Any) -> Decimal | None:  # noqa: ANN401
    return None if v is None else Decimal(v)


def flag(v: Any) -> bool:  # noqa: ANN401
    return bool(v)
