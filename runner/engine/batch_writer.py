"""Where a backtest's batches are written: in a child process, or inline when there is none.

The replay is CPU-bound Python; committing its rows (three inserts per order and the
positions) costs it about a sixth of its time. A writer *thread* fights the replay for the
GIL and was slower; a child process takes the batches over a pipe and commits each one as it
arrives, on the other core. Backpressure is the pipe: the replay waits only when the child is
a whole batch behind.

Durability is unchanged: a batch is committed moments after it is handed over, and
:meth:`ProcessWriter.sync` (every lifecycle transition, the end of the run) returns only once
everything handed over is committed. A failed write is reported to the replay, which stops
with :class:`~runner.errors.LedgerWriteError`; later batches are not written. If the replay
dies, the child commits what it received and exits on the closed pipe.

The child is forked (it starts at once, with everything imported, and opens its own
connections). Forking is only safe with no other thread alive (one could hold a lock the child
would wait on forever), and a spawned child would re-run a calling script that lacks a
``__main__`` guard; so a multi-threaded host, a platform other than Linux and an in-memory
SQLite ledger (which a child cannot share) get :class:`InlineWriter`, which commits in the
replay's own process.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from runner.errors import LedgerWriteError
from runner.ledger.fastpath import EVENT_COLUMNS, ORDER_COLUMNS, insert_many, ts_for
from runner.ledger.positions import PositionState
from runner.ledger.store import Ledger, NewFill, is_in_memory
from runner.ledger.types import decimal_text

PositionKey = tuple[str, str, str]  # run_id, variant, instrument


@dataclass
class Batch:
    """Rows as driver values, except their Decimals: ``orders`` and ``fills`` carry them as
    ``str(d)`` (see :func:`order_wire`, :func:`fill_wire`), turned into the ledger's text by
    :func:`write_batch`, on the writer's side of the pipe (see ``sink.BatchSink``)."""

    orders: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    fills: list[tuple[Any, ...]] = field(default_factory=list)
    # the engine's position after the batch's last fill on each key, its account and that fill's price
    positions: dict[PositionKey, tuple[PositionState, str, Decimal]] = field(default_factory=dict)
    unfolded: list[NewFill] = field(default_factory=list)  # fills the ledger must fold itself
    equity: list[dict[str, Any]] = field(default_factory=list)


# Why the Decimals cross the pipe as str(d): the ledger's text of a Decimal (`decimal_text`) and
# pickling a Decimal each cost several times str(d), and the replay is the busy process. str(d)
# is exact (Decimal(str(d)) has the same digits and exponent), so the rows are the same.
def _text(s: str | None) -> str | None:
    return None if s is None else decimal_text(Decimal(s))


def order_wire(order: dict[str, Any], created: Any, boolean: Any = int) -> tuple[Any, ...]:
    """An order row in ORDER_COLUMNS order, qty and price as str(d); ``created`` comes encoded."""
    price = order.get("price")
    return (order["client_order_id"], order["run_id"], order["variant"], order["seq"], order["account"],
            order["instrument"], order["side"], str(order["qty"]), None if price is None else str(price),
            order["order_type"], order["tif"], order["purpose"], order.get("group_id"),
            boolean(order.get("reduce_only", False)), created, order.get("intent_id"))


def fill_wire(f: NewFill) -> tuple[Any, ...]:
    """A fill in FILL_COLUMNS order (see ``store.fill_row``), qty, price and fee as str(d), ts a datetime."""
    return (f.fill_key, f.client_order_id, f.run_id, f.variant, f.account, f.instrument, f.side, str(f.qty),
            str(f.price), str(f.fee), f.liquidity, f.group_id, f.flag, f.ts)


def write_batch(ledger: Ledger, conn: Connection, batch: Batch) -> None:
    """Everything in ``batch``, inside the caller's transaction on ``conn``."""
    text = _text
    insert_many(conn, "orders", ORDER_COLUMNS, [(*r[:7], text(r[7]), text(r[8]), *r[9:]) for r in batch.orders],
                encoded=True)
    insert_many(conn, "order_events", EVENT_COLUMNS, batch.events, encoded=True)
    if batch.equity:
        ledger.add_equity(batch.equity, conn)
    if batch.fills:
        ts = ts_for(conn.dialect.name)
        rows = [(*r[:7], text(r[7]), text(r[8]), text(r[9]), r[10], r[11], r[12], ts(r[13])) for r in batch.fills]
        ledger.record_folded_fills(conn, rows, batch.positions)
    if batch.unfolded:
        ledger.apply_fills(batch.unfolded, conn, fresh=True)


def _connect(ledger: Ledger) -> Connection:
    """One connection for the whole run. SQLite: no fsync on it (a backtest can be re-run; the
    OS still gets every row)."""
    conn = ledger.engine.connect()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.commit()
    return conn


def _release(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")  # back to the pool as found
        conn.commit()
    conn.close()


class Writer(Protocol):
    def write(self, batch: Batch) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...


class InlineWriter:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._conn: Connection | None = None

    def write(self, batch: Batch) -> None:
        if self._conn is None:
            self._conn = _connect(self.ledger)
        with self._conn.begin():
            write_batch(self.ledger, self._conn, batch)

    def sync(self) -> None:
        pass

    def close(self) -> None:
        if self._conn is not None:
            _release(self._conn)
            self._conn = None


PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size: a batch fits whole (see `_widen`)


def _widen(conn: Any) -> None:
    """Let the batch pipe hold a whole batch (a 64 KB pipe holds a quarter of a 50 ms batch):
    the replay then hands a batch over without waiting for the writer to finish committing
    the one before. Where the size cannot be set, the pipe stays as it is."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ImportError):
        pass


def _serve(url: str, pipe: Any, replies: Any, parent_ends: tuple[Any, Any]) -> None:
    """The child: commit each batch read from ``pipe`` as it arrives; answer ``sync`` on
    ``replies`` with the first failure."""
    for end in parent_ends:  # our copies of the replay's ends: holding them, we would never see EOF
        end.close()
    # Ctrl-C reaches the whole process group: the replay decides (it hands over what is left and
    # stops us); a writer dying on its own here would lose that last batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ledger = Ledger(url, create=False)
    conn = _connect(ledger)
    failed: str | None = None
    try:
        while True:
            try:
                op, batch = pipe.recv()
            except EOFError:  # the replay is gone: what it handed over is committed
                return
            if op == "write" and failed is None:
                try:
                    with conn.begin():
                        write_batch(ledger, conn, batch)
                except Exception as exc:  # reported to the replay, which stops
                    failed = f"{type(exc).__name__}: {exc}"
                    replies.send(("failed", failed))
            elif op in ("sync", "stop"):
                replies.send(("synced", failed))
                if op == "stop":
                    return
    finally:
        _release(conn)
        ledger.engine.dispose()


class ProcessWriter:
    def __init__(self, url: str) -> None:
        ctx = multiprocessing.get_context("fork")
        batches, self._pipe = ctx.Pipe(duplex=False)  # replay -> writer: the batches, ops
        self._replies, replies = ctx.Pipe(duplex=False)  # writer -> replay: synced, failed
        _widen(self._pipe)
        self._proc = ctx.Process(target=_serve, args=(url, batches, replies, (self._pipe, self._replies)),
                                 name="runner-backtest-writer", daemon=True)
        self._proc.start()
        batches.close()
        replies.close()
        self._failed: str | None = None

    def write(self, batch: Batch) -> None:
        self._take_reports()
        try:
            self._pipe.send(("write", batch))
        except OSError:  # BrokenPipeError: the child died
            self._raise(None)

    def sync(self) -> None:
        """Return once every batch handed over is committed; raise if one was not."""
        self._request("sync")

    def close(self) -> None:
        """Wait for everything handed over, then let the child go (raises if a write failed)."""
        try:
            if self._proc.is_alive():
                self._request("stop")
        finally:
            self._proc.join(timeout=30)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._pipe.close()
            self._replies.close()

    def _request(self, op: str) -> None:
        try:
            self._pipe.send((op, None))
            kind = ""
            while kind != "synced":  # a "failed" report may come first
                kind, detail = self._replies.recv()
                self._failed = self._failed or detail
        except (OSError, EOFError):
            self._raise(None)
        if self._failed:
            self._raise(self._failed)

    def _take_reports(self) -> None:
        while self._replies.poll():
            kind, detail = self._replies.recv()
            if kind == "failed":
                self._raise(detail)

    def _raise(self, detail: str | None) -> None:
        self._failed = detail or self._failed
        code = self._proc.exitcode
        why = self._failed or f"the writer process exited (code {code})"
        raise LedgerWriteError(f"backtest ledger write failed: {why}")


def can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


def open_writer(ledger: Ledger, inline: bool = False) -> Writer:
    if inline or is_in_memory(ledger.url) or not can_fork():
        return InlineWriter(ledger)
    return ProcessWriter(ledger.url)
