"""The sim venue's own account store (SQLite), kept apart from the ledger as a remote venue's.

A runner crash does not reset it; restart reconciles against it; audits compare to it.
"""

from __future__ import annotations

import os
import sqlite3
from decimal import Decimal
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  client_order_id TEXT PRIMARY KEY, venue_order_id TEXT NOT NULL, instrument TEXT NOT NULL,
  side TEXT NOT NULL, qty TEXT NOT NULL, price TEXT, order_type TEXT NOT NULL, tif TEXT NOT NULL,
  status TEXT NOT NULL, filled_qty TEXT NOT NULL, notional TEXT NOT NULL, reason TEXT, ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, fill_id TEXT UNIQUE NOT NULL, client_order_id TEXT,
  venue_order_id TEXT, instrument TEXT NOT NULL, side TEXT NOT NULL, qty TEXT NOT NULL,
  price TEXT NOT NULL, fee TEXT NOT NULL, liquidity TEXT NOT NULL, ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (instrument TEXT PRIMARY KEY, qty TEXT NOT NULL, cost TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (currency TEXT PRIMARY KEY, total TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS market (instrument TEXT PRIMARY KEY, step INTEGER NOT NULL, mid REAL NOT NULL, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS funding (
  id INTEGER PRIMARY KEY AUTOINCREMENT, instrument TEXT NOT NULL, interval INTEGER NOT NULL, rate REAL NOT NULL,
  qty TEXT NOT NULL, amount TEXT NOT NULL, ts REAL NOT NULL, UNIQUE (instrument, interval)
);
CREATE TABLE IF NOT EXISTS deferred (client_order_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS settlements (
  id INTEGER PRIMARY KEY AUTOINCREMENT, market TEXT NOT NULL, round INTEGER NOT NULL, yes_pays INTEGER NOT NULL,
  ts REAL NOT NULL, UNIQUE (market, round)
);
CREATE TABLE IF NOT EXISTS payouts (
  market TEXT NOT NULL, round INTEGER NOT NULL, result TEXT NOT NULL, yes_count TEXT NOT NULL,
  no_count TEXT NOT NULL, revenue TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (market, round)
);
"""


class SimStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not Path(path).exists():  # the account's state is private (0600), as the ledger is
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def tx(self) -> _Tx:
        return _Tx(self.db)

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def next_id(self, key: str) -> int:
        n = int(self.meta(key, "0") or 0) + 1
        self.set_meta(key, str(n))
        return n

    def balance(self, currency: str) -> Decimal | None:
        row = self.db.execute("SELECT total FROM balances WHERE currency=?", (currency,)).fetchone()
        return Decimal(row[0]) if row else None

    def set_balance(self, currency: str, total: Decimal) -> None:
        self.db.execute("INSERT OR REPLACE INTO balances(currency, total) VALUES (?, ?)", (currency, str(total)))

    def position(self, instrument: str) -> tuple[Decimal, Decimal]:
        row = self.db.execute("SELECT qty, cost FROM positions WHERE instrument=?", (instrument,)).fetchone()
        return (Decimal(row[0]), Decimal(row[1])) if row else (Decimal(0), Decimal(0))

    def set_position(self, instrument: str, qty: Decimal, cost: Decimal) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO positions(instrument, qty, cost) VALUES (?, ?, ?)",
            (instrument, str(qty), str(cost)),
        )


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one venue-side action is all or nothing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
