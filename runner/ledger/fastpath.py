"""The order writes on the hot path, straight through the SQLite driver.

An order must be committed before it is sent, so this write sits between a market event
and the venue. Through SQLAlchemy Core it costs ~270 us here; through a prepared statement
on a dedicated driver connection ~60 us. Same tables, same encodings as the ORM columns
(Decimal as normalized text, UTC datetimes in SQLAlchemy's SQLite format), one connection
per thread. PostgreSQL keeps the Core path.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from runner.ledger.types import DecimalText

ORDER_COLUMNS = ("client_order_id", "run_id", "variant", "seq", "account", "instrument", "side", "qty", "price",
                 "order_type", "tif", "purpose", "group_id", "reduce_only", "created", "intent_id")
_INSERT_ORDER = f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({', '.join('?' * len(ORDER_COLUMNS))})"
_INSERT_EVENT = "INSERT INTO order_events (client_order_id, status, venue_order_id, detail, ts) VALUES (?, ?, ?, ?, ?)"
_DEC = DecimalText()
_DEFAULTS = {"reduce_only": False}  # the model's non-null defaults


def _ts(dt: datetime) -> str:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def _value(col: str, v: Any) -> Any:
    if isinstance(v, Decimal):
        return _DEC.process_bind_param(v, None)
    if isinstance(v, datetime):
        return _ts(v)
    if isinstance(v, bool):
        return int(v)
    return v


class SqliteOrderWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.engine.raw_connection()  # pragmas (WAL, busy_timeout) applied on connect
            self._local.conn = conn
        return conn

    def record_order(self, order: dict[str, Any]) -> None:
        conn = self._conn()
        cur = conn.cursor()
        try:
            cur.execute(_INSERT_ORDER, tuple(_value(c, order.get(c, _DEFAULTS.get(c))) for c in ORDER_COLUMNS))
            cur.execute(_INSERT_EVENT, (order["client_order_id"], "submitting", None, "", _ts(order["created"])))
            conn.commit()
        except sqlite3.IntegrityError as exc:
            conn.rollback()
            raise IntegrityError("INSERT INTO orders", None, exc) from None
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()

    def order_event(self, client_order_id: str, status: str, venue_order_id: str | None, detail: str,
                    ts: datetime) -> None:
        conn = self._conn()
        try:
            conn.execute(_INSERT_EVENT, (client_order_id, status, venue_order_id, detail, _ts(ts)))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
