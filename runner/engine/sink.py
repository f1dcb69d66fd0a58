"""Where the engine's ledger writes go: at once (paper/live) or in bounded batches (backtest).

Paper and live write every order (and commit) before it is sent. A backtest has no venue to
disagree with, so it batches inside a durability window: at most ``max_fills`` fills or
``max_age_s`` seconds, flushed on every lifecycle transition and on exit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from runner.engine.batch_writer import Batch, Writer, fill_wire, open_writer, order_wire
from runner.ledger.fastpath import ts_for
from runner.ledger.positions import PositionState
from runner.ledger.store import Ledger, NewFill


class ImmediateSink:
    """Rows are stamped here (``created``, event ``ts``): the sink knows when it wrote them."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def order(self, row: dict[str, Any]) -> None:
        self.ledger.confirm_fence(row["variant"], "order not recorded")  # a lease lost: no row either
        row["created"] = datetime.now(UTC)
        self.ledger.record_order(row)
        self.ledger.confirm_fence(row["variant"])  # a freeze between the write and the send

    def confirm(self, variant: str, what: str) -> None:
        """Before any other venue action of ``variant`` (a cancel): still its lease's holder
        (``Ledger.confirm_fence``), or FencedError and the venue hears nothing. A runner thawed
        past its lease must not cancel behind the new owner's back what that owner now manages."""
        self.ledger.confirm_fence(variant, what)

    def order_event(self, cid: str, status: str, venue_order_id: str | None = None, detail: str = "") -> None:
        self.ledger.order_event(cid, status, venue_order_id, detail)

    def orders(self, rows: list[dict[str, Any]]) -> None:
        """Several orders (the legs of a group) in one transaction: all or none are recorded."""
        for variant in {row["variant"] for row in rows}:
            self.ledger.confirm_fence(variant, "order not recorded")
        now = datetime.now(UTC)
        with self.ledger.begin() as conn:
            for row in rows:
                row["created"] = now
                self.ledger.record_order(row, conn)
        for variant in {row["variant"] for row in rows}:
            self.ledger.confirm_fence(variant)

    def position(self, fill: NewFill, state: PositionState) -> None:
        """The engine's position after ``fill``. The ledger folded it itself already."""

    def fills(self, fills: Sequence[NewFill]) -> list[NewFill]:
        return self.ledger.apply_fills(fills)

    def skips(self, run_id: str, variant: str, counts: dict[str, int]) -> None:
        self.ledger.add_skips(run_id, variant, counts)

    def flag_fills(self, client_order_id: str, flag: str) -> None:
        """Mark the fills of an order already in the ledger (later ones carry the flag themselves)."""
        self.flush()
        self.ledger.flag_fills(client_order_id, flag)

    def equity(self, rows: list[dict[str, Any]]) -> None:
        self.ledger.add_equity(rows)

    def flush(self) -> None:
        pass


class BatchSink(ImmediateSink):
    """Rows are encoded for the driver as they arrive (tuples, not dicts), stamped with a wall
    clock read every ``CLOCK_EVERY`` rows (a row's stamp is good to about a millisecond), and
    handed to a writer in batches (see ``batch_writer``: a child process commits them while the
    replay goes on)."""

    CLOCK_EVERY = 8  # rows between clock reads: a backtest writes a row every few microseconds

    def __init__(self, ledger: Ledger, max_fills: int = 1000, max_age_s: float = 0.05,
                 writer: Writer | None = None) -> None:
        super().__init__(ledger)
        self.max_fills = max_fills
        self.max_age_s = max_age_s
        dialect = ledger.engine.dialect.name
        self._enc_ts = ts_for(dialect)
        self._bool: Any = int if dialect == "sqlite" else bool
        self._writer = writer or open_writer(ledger)
        self._batch = Batch()
        self._fills: list[NewFill] = []
        self._folded = 0  # fills the engine reported a position for (see `position`)
        self._oldest: float | None = None
        self._rows = 0
        self._stamp_at = 0.0
        self._stamp_text: Any = None
        self._read_clock()
        self.flushes = 0

    def _read_clock(self) -> None:
        """Refresh the rows' stamp (re-encoded at most once per millisecond)."""
        t = time.time()
        if t - self._stamp_at >= 0.001:
            self._stamp_at = t
            self._stamp_text = self._enc_ts(datetime.fromtimestamp(t, UTC))

    def _stamp(self) -> Any:
        """Now, encoded for the driver, as of the latest clock read (see ``_touch``)."""
        return self._stamp_text

    def _touch(self) -> None:
        """After each row: hand the batch over when it is full or old (the clock is read, and
        the age checked, every CLOCK_EVERY rows: a 50 ms window is not missed by much)."""
        self._rows += 1
        if self._rows % self.CLOCK_EVERY:
            if len(self._fills) >= self.max_fills:
                self._hand_over()
            return
        self._read_clock()
        now = time.monotonic()
        if self._oldest is None:
            self._oldest = now
        elif len(self._fills) >= self.max_fills or now - self._oldest >= self.max_age_s:
            self._hand_over()

    def order(self, row: dict[str, Any]) -> None:
        # No `submitting` event: the order and its outcome land in the same batch, so the
        # marker that protects paper/live orders in flight has nothing to protect here.
        self._batch.orders.append(order_wire(row, self._stamp(), self._bool))
        self._touch()

    def confirm(self, variant: str, what: str) -> None:
        """A backtest holds no lease: nothing to confirm."""

    def orders(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:  # buffered, then written in one transaction
            self.order(row)

    def order_event(self, cid: str, status: str, venue_order_id: str | None = None, detail: str = "") -> None:
        self._batch.events.append((cid, status, venue_order_id, detail, self._stamp()))
        self._touch()

    # A fill is buffered by `fill`/`fills`, then the engine folds it and reports its position
    # (`position`), which is where the window is checked: a batch never ends between the two.
    def fill(self, fill: NewFill) -> None:
        self._fills.append(fill)

    def fills(self, fills: Sequence[NewFill]) -> list[NewFill]:
        self._fills.extend(fills)
        return list(fills)  # a backtest venue reports each fill once

    def position(self, fill: NewFill, state: PositionState) -> None:
        """The engine folds every fill of a backtest with the ledger's own ``apply_fill`` from a
        flat start, so its latest state is written as is instead of folding each fill twice."""
        self._batch.positions[(fill.run_id, fill.variant, fill.instrument)] = (state, fill.account, fill.price)
        self._folded += 1
        self._touch()

    def equity(self, rows: list[dict[str, Any]]) -> None:
        self._batch.equity.extend(rows)

    def _hand_over(self) -> None:
        """Give the writer what is buffered (it commits it as one transaction)."""
        b = self._batch
        self._oldest = None
        if not (b.orders or b.events or self._fills or b.equity):
            return
        if self._folded == len(self._fills):
            b.fills = [fill_wire(f) for f in self._fills]  # encoded by the writer (see batch_writer)
        else:  # a fill the engine did not fold: the ledger folds them all
            b.unfolded, b.positions = self._fills, {}
        self._batch, self._fills, self._folded = Batch(), [], 0
        self._writer.write(b)
        self.flushes += 1

    def flush(self) -> None:
        """Everything so far committed when this returns (before a lifecycle transition)."""
        self._hand_over()
        self._writer.sync()

    def close(self) -> None:
        """Write what is left and wait for it."""
        try:
            self._hand_over()
        finally:
            self._writer.close()
