"""The ledger: every write the runner makes goes through this class.

One engine per process, sessions per call (no global session). Writes that must agree
(a fill and the position it moves; a transition and the current state) share a transaction.
``Ledger`` is the one handle callers hold; it composes the owners of each kind of row (leases,
a variant's rows, orders, fills and positions, runs) and forwards to them, so its methods are
the ledger's whole surface in one place. The names importers take from here stay here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DatabaseError

from runner.errors import BadInputError
from runner.ledger import models as m
from runner.ledger.database import READ_INDEXES, create_schema, is_in_memory, open_engine, sqlite_path
from runner.ledger.fill_rows import FILL_COLUMNS, FillRows, NewFill, fill_row
from runner.ledger.leases import Fence, Leases, check_fence
from runner.ledger.order_rows import OrderRows
from runner.ledger.paths import default_url
from runner.ledger.pg_session import IDLE_IN_TRANSACTION_S
from runner.ledger.positions import PositionState
from runner.ledger.run_rows import RunRows
from runner.ledger.tables import *  # noqa: F403 - the T_ tables: importers take them from here
from runner.ledger.variant_rows import StaleState as _StaleState
from runner.ledger.variant_rows import VariantRows
from runner.privacy import mask_text

__all__ = [  # what importers take from here besides the T_ tables (callers import them from this module)
    "FILL_COLUMNS", "READ_INDEXES", "Fence", "Ledger", "NewFill", "_StaleState", "default_url", "fill_row",
    "is_in_memory", "sqlite_path",
]


class Ledger:
    def __init__(self, url: str, *, create: bool = True, idle_in_transaction_s: float = IDLE_IN_TRANSACTION_S) -> None:
        self.url = url
        self.fences: dict[str, Fence] = {}  # variant -> the lease held through this handle
        self.idle_in_transaction_s = idle_in_transaction_s  # PostgreSQL ends a transaction idle this long
        self.lost: dict[str, Fence] = {}  # variant -> the lease this handle held and lost (refuses on)
        try:
            self.engine: Engine = open_engine(url, create=create, idle_in_transaction_s=idle_in_transaction_s)
            self._fast = None
            if url.startswith("sqlite"):
                from runner.ledger.fastpath import SqliteOrderWriter

                self._fast = SqliteOrderWriter(self.engine)
            if create:
                create_schema(self.engine)
            else:
                with self.engine.connect() as conn:
                    conn.execute(select(1))
        except (ArgumentError, DatabaseError, ModuleNotFoundError, ValueError, OSError) as exc:
            # DatabaseError: also "file is not a database" (a corrupt or foreign file) -> exit 2
            raise BadInputError(mask_text(f"cannot open ledger database {url!r}: {exc}")) from None
        self.leases = Leases(self.engine, self.fences, self.lost)
        self.variant_rows = VariantRows(self.engine, self.fences, self._fence_check)
        self.order_rows = OrderRows(self.engine, self.fences, self._fast, self._fence_check)
        self.fill_rows = FillRows(self.engine)
        self.run_rows = RunRows(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def begin(self):  # type: ignore[no-untyped-def]
        return self.engine.begin()

    # --- deployments and spec errors (runner.ledger.variant_rows) ------------------------
    def deployment(self, variant: str) -> m.Deployment | None:
        return self.variant_rows.deployment(variant)

    def deployments(self) -> list[m.Deployment]:
        return self.variant_rows.deployments()

    def record_deployment(self, dep: m.Deployment, initial_state: str) -> None:
        self.variant_rows.record_deployment(dep, initial_state)

    def set_spec_error(self, file: str, message: str) -> bool:
        return self.variant_rows.set_spec_error(file, message)

    def clear_spec_error(self, file: str) -> None:
        self.variant_rows.clear_spec_error(file)

    def spec_errors(self) -> list[m.SpecErrorRow]:
        return self.variant_rows.spec_errors()

    # --- lifecycle (runner.ledger.variant_rows) ------------------------------------------
    def state(self, variant: str) -> m.VariantState | None:
        return self.variant_rows.state(variant)

    def states(self) -> dict[str, m.VariantState]:
        return self.variant_rows.states()

    def write_transition(
        self, variant: str, from_state: str, to_state: str, trigger: str, reason: str, detail: str,
        actor: str,
    ) -> m.Transition | None:
        return self.variant_rows.write_transition(variant, from_state, to_state, trigger, reason, detail, actor)

    def _insert_transition(
        self, conn: Connection, variant: str, from_state: str, to_state: str, trigger: str, reason: str,
        detail: str, actor: str, now: datetime, fenced: bool = True,
    ) -> int:
        return self.variant_rows.insert_transition(conn, variant, from_state, to_state, trigger, reason, detail,
                                                   actor, now, fenced)

    _check_fence = staticmethod(check_fence)

    def _fence_check(self, conn: Connection, variant: str, fence: Fence, what: str = "order not recorded") -> None:
        """The fence check the writers run, looked up on this handle at each call (as when they were
        its own methods), so one place can observe it: a test freezes a write right there."""
        self._check_fence(conn, variant, fence, what)

    def transitions(
        self, variant: str | None = None, after_id: int = 0, limit: int | None = None
    ) -> list[m.Transition]:
        return self.variant_rows.transitions(variant, after_id, limit)

    # --- leases: each variant is traded by exactly one runner at a time (runner.ledger.leases)
    def acquire_lease(self, variant: str, owner: str, ttl_s: float, dead_owner: str | None = None) -> int | None:
        return self.leases.acquire_lease(variant, owner, ttl_s, dead_owner)

    def confirm_fence(self, variant: str, what: str = "order recorded but not sent") -> None:
        self.leases.confirm_fence(variant, what)

    def renew_leases(self, owner: str, variants: list[str], ttl_s: float) -> set[str]:
        return self.leases.renew_leases(owner, variants, ttl_s)

    def release_leases(self, owner: str) -> None:
        self.leases.release_leases(owner)

    # --- runs (runner.ledger.run_rows) ---------------------------------------------------
    def ensure_run(self, run_id: str, kind: str, variant: str | None = None) -> None:
        self.run_rows.ensure_run(run_id, kind, variant)

    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        self.run_rows.finish_run(run_id, summary)

    def discard_backtest(self, run_id: str, variant_key: str) -> None:
        self.run_rows.discard_backtest(run_id, variant_key)

    # --- orders (runner.ledger.order_rows) -----------------------------------------------
    def next_seq(self, run_id: str, variant: str) -> int:
        return self.order_rows.next_seq(run_id, variant)

    def record_order(self, order: dict[str, Any], conn: Connection | None = None) -> None:
        self.order_rows.record_order(order, conn)

    def order_event(
        self, client_order_id: str, status: str, venue_order_id: str | None = None, detail: str = ""
    ) -> None:
        self.order_rows.order_event(client_order_id, status, venue_order_id, detail)

    def order_row(self, client_order_id: str) -> m.Order | None:
        return self.order_rows.order_row(client_order_id)

    def order_status(self, client_order_id: str) -> str | None:
        return self.order_rows.order_status(client_order_id)

    def orders_with_status(
        self, statuses: Iterable[str], run_id: str = m.MAIN_RUN, variant: str | None = None
    ) -> list[tuple[m.Order, str]]:
        return self.order_rows.orders_with_status(statuses, run_id, variant)

    def group_legs(self, run_id: str, variant: str, limit: int = 200) -> list[tuple[m.Order, str]]:
        return self.order_rows.group_legs(run_id, variant, limit)

    def orders(self, run_id: str = m.MAIN_RUN, variant: str | None = None, limit: int = 200) -> list[m.Order]:
        return self.order_rows.orders(run_id, variant, limit)

    # --- fills and positions (runner.ledger.fill_rows) -----------------------------------
    def apply_fills(self, fills: Sequence[NewFill], conn: Connection | None = None, fresh: bool = False
                    ) -> list[NewFill]:
        return self.fill_rows.apply_fills(fills, conn, fresh)

    def record_folded_fills(self, conn: Connection, rows: Sequence[tuple[Any, ...]],
                            positions: Mapping[tuple[str, str, str], tuple[PositionState, str, Decimal]]) -> None:
        self.fill_rows.record_folded_fills(conn, rows, positions)

    def flag_fills(self, client_order_id: str, flag: str) -> None:
        self.fill_rows.flag_fills(client_order_id, flag)

    def fills(
        self, run_id: str = m.MAIN_RUN, variant: str | None = None, limit: int | None = 200,
        instrument: str | None = None,
    ) -> list[m.Fill]:
        return self.fill_rows.fills(run_id, variant, limit, instrument)

    def filled_qty(self, client_order_id: str) -> Decimal:
        return self.fill_rows.filled_qty(client_order_id)

    def positions(self, run_id: str = m.MAIN_RUN, variant: str | None = None) -> list[m.Position]:
        return self.fill_rows.positions(run_id, variant)

    def known_fills(self, keys: Sequence[str]) -> set[str]:
        return self.fill_rows.known_fills(keys)

    def holders(self, account: str) -> list[tuple[str, str]]:
        return self.fill_rows.holders(account)

    # --- skips, equity, cursors, heartbeat (runner.ledger.run_rows) ----------------------
    def add_skips(self, run_id: str, variant: str, counts: dict[str, int], conn: Connection | None = None) -> None:
        self.run_rows.add_skips(run_id, variant, counts, conn)

    def skips(self, run_id: str = m.MAIN_RUN, variant: str | None = None) -> dict[str, int]:
        return self.run_rows.skips(run_id, variant)

    def add_equity(self, rows: list[dict[str, Any]], conn: Connection | None = None) -> None:
        self.run_rows.add_equity(rows, conn)

    def cursor(self, account: str, name: str = "fills") -> str | None:
        return self.run_rows.cursor(account, name)

    def set_cursor(self, account: str, value: str | None, name: str = "fills") -> None:
        self.run_rows.set_cursor(account, value, name)

    def heartbeat(self, runner_id: str, host: str, pid: int, market_ts: datetime | None) -> None:
        self.run_rows.heartbeat(runner_id, host, pid, market_ts)

    def heartbeats(self) -> list[m.Heartbeat]:
        return self.run_rows.heartbeats()
