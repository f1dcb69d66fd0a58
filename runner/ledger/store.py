"""The ledger: every write the runner makes goes through this class.

One engine per process, sessions per call (no global session). Writes that must agree
(a fill and the position it moves; a transition and the current state) share a transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import and_, event, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError
from sqlmodel import SQLModel, create_engine

from runner.errors import BadInputError, FencedError
from runner.ledger import models as m
from runner.ledger.fastpath import dec, insert_many, ts_for
from runner.ledger.paths import default_url  # noqa: F401 - re-exported: callers import it from here
from runner.ledger.pg_session import IDLE_IN_TRANSACTION_S, is_lock_timeout, limit_lock_wait, pg_engine_args
from runner.ledger.positions import PositionState, apply_fill
from runner.ledger.types import utcnow
from runner.privacy import mask_text, private_file

T_ORDERS = m.Order.__table__
T_EVENTS = m.OrderEvent.__table__
T_FILLS = m.Fill.__table__
T_POS = m.Position.__table__
T_TRANS = m.Transition.__table__
T_STATE = m.VariantState.__table__
T_SKIPS = m.SkipCount.__table__
T_EQUITY = m.EquitySnapshot.__table__
T_DEPLOY = m.Deployment.__table__
T_ERRORS = m.SpecErrorRow.__table__
T_RUNS = m.Run.__table__
T_CURSORS = m.Cursor.__table__
T_HEART = m.Heartbeat.__table__
T_HANDED = m.OrderHandover.__table__


# status and positions read the funding rows apart (`fees` and `funding`): without it, a scan of every fill
READ_INDEXES = ("CREATE INDEX IF NOT EXISTS ix_fills_funding ON fills (run_id, variant) WHERE liquidity = 'funding'",)


@dataclass(slots=True)  # a value; not frozen only because a frozen __init__ is ~6x slower
class NewFill:
    fill_key: str
    client_order_id: str | None
    run_id: str
    variant: str
    account: str
    instrument: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime
    liquidity: str = "taker"
    group_id: str | None = None
    flag: str | None = None


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


@dataclass
class Fence:
    """The lease this ledger handle holds on a variant: owner, token, and until when (monotonic
    clock, which keeps counting while the process is stopped) it is surely still ours: past it,
    the runtime renews before acting."""

    owner: str
    epoch: int
    valid_until: float
    ttl_s: float = 10.0

    def lost(self, variant: str, what: str = "order not recorded") -> FencedError:
        return FencedError(f"{variant}: lease token {self.epoch} of {self.owner} is no longer current "
                           f"(another runner took the variant); {what}")


class Ledger:
    def __init__(self, url: str, *, create: bool = True, idle_in_transaction_s: float = IDLE_IN_TRANSACTION_S) -> None:
        self.url = url
        self.fences: dict[str, Fence] = {}  # variant -> the lease held through this handle
        self.idle_in_transaction_s = idle_in_transaction_s  # PostgreSQL ends a transaction idle this long
        self.lost: dict[str, Fence] = {}  # variant -> the lease this handle held and lost (refuses on)
        try:
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
                self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                if url.startswith("postgresql://"):
                    url = "postgresql+psycopg://" + url[len("postgresql://") :]
                self.engine = create_engine(url, pool_pre_ping=True, **pg_engine_args(url, idle_in_transaction_s))
            self._fast = None
            if url.startswith("sqlite"):
                from runner.ledger.fastpath import SqliteOrderWriter

                self._fast = SqliteOrderWriter(self.engine)
            if create:
                self._create_schema()
            else:
                with self.engine.connect() as conn:
                    conn.execute(select(1))
        except (ArgumentError, DatabaseError, ModuleNotFoundError, ValueError, OSError) as exc:
            # DatabaseError: also "file is not a database" (a corrupt or foreign file) -> exit 2
            raise BadInputError(mask_text(f"cannot open ledger database {url!r}: {exc}")) from None

    # --- schema --------------------------------------------------------------------------
    def _create_schema(self) -> None:
        # Two processes opening a fresh ledger at once (a runner and a CLI call) race on
        # CREATE TABLE: the loser retries and then finds the tables there.
        for attempt in range(10):
            try:
                SQLModel.metadata.create_all(self.engine)
                break
            except DatabaseError:
                if attempt == 9:
                    raise
                time.sleep(0.05 * (attempt + 1))
        self._read_indexes()
        with self.engine.begin() as conn:
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
                self._migrate(conn, row[0])

    def _read_indexes(self) -> None:
        """Indexes the read path needs (``runner.readmodels``), on new and existing ledgers alike.
        Partial, so they cost nothing on the rows they do not cover (a backtest's fills)."""
        from sqlalchemy import inspect, text

        have = {ix["name"] for ix in inspect(self.engine).get_indexes("fills")}
        for ddl in READ_INDEXES:
            if ddl.split(" IF NOT EXISTS ")[1].split()[0] in have:
                continue  # no DDL: on PostgreSQL it would wait on (and queue writes behind) other runners
            try:
                with self.engine.begin() as conn:
                    conn.execute(text(ddl))
            except DatabaseError:
                pass  # another process created it at the same moment

    def _migrate(self, conn: Connection, version: int) -> None:
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

    def close(self) -> None:
        self.engine.dispose()

    def begin(self):  # type: ignore[no-untyped-def]
        return self.engine.begin()

    # --- deployments and spec errors -----------------------------------------------------
    def deployment(self, variant: str) -> m.Deployment | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T_DEPLOY).where(T_DEPLOY.c.variant == variant)).mappings().first()
        return m.Deployment(**row) if row else None

    def deployments(self) -> list[m.Deployment]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(T_DEPLOY).order_by(T_DEPLOY.c.variant)).mappings().all()
        return [m.Deployment(**r) for r in rows]

    def record_deployment(self, dep: m.Deployment, initial_state: str) -> None:
        """Insert the deployment and its first state in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(insert(T_DEPLOY).values(**dep.model_dump()))
            conn.execute(
                insert(T_STATE).values(
                    variant=dep.variant, state=initial_state, reason="deployed", detail="",
                    since=utcnow(), last_transition=0,
                )
            )

    def set_spec_error(self, file: str, message: str) -> bool:
        """Record a deploy error for ``file``; True when it is new or changed."""
        with self.engine.begin() as conn:
            old = conn.execute(select(T_ERRORS.c.message).where(T_ERRORS.c.file == file)).scalar()
            if old == message:
                return False
            if old is not None:
                conn.execute(T_ERRORS.delete().where(T_ERRORS.c.file == file))
            conn.execute(insert(T_ERRORS).values(file=file, message=message, ts=utcnow()))
            return True

    def clear_spec_error(self, file: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(T_ERRORS.delete().where(T_ERRORS.c.file == file))

    def spec_errors(self) -> list[m.SpecErrorRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(T_ERRORS).order_by(T_ERRORS.c.file)).mappings().all()
        return [m.SpecErrorRow(**r) for r in rows]

    # --- lifecycle -----------------------------------------------------------------------
    def state(self, variant: str) -> m.VariantState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T_STATE).where(T_STATE.c.variant == variant)).mappings().first()
        return m.VariantState(**row) if row else None

    def states(self) -> dict[str, m.VariantState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(T_STATE)).mappings().all()
        return {r["variant"]: m.VariantState(**r) for r in rows}

    def write_transition(
        self, variant: str, from_state: str, to_state: str, trigger: str, reason: str, detail: str,
        actor: str,
    ) -> m.Transition | None:
        """Compare-and-set the state and append the transition row, atomically.

        Returns None (and writes nothing) when the variant is no longer in ``from_state``:
        somebody else (operator or runner) moved it first.
        """
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                tid = self._insert_transition(conn, variant, from_state, to_state, trigger, reason, detail, actor, now)
        except _StaleState:
            return None
        return m.Transition(
            id=tid, variant=variant, from_state=from_state, to_state=to_state, trigger=trigger,
            reason=reason, detail=detail, actor=actor, ts=now,
        )

    def _insert_transition(
        self, conn: Connection, variant: str, from_state: str, to_state: str, trigger: str, reason: str,
        detail: str, actor: str, now: datetime, fenced: bool = True,
    ) -> int:
        """``fenced=False``: an operator's act (a promotion) that itself raised the tokens; it holds
        no lease, and this process's runtime holding a stale one must not refuse it."""
        tid = conn.execute(
            insert(T_TRANS).values(
                variant=variant, from_state=from_state, to_state=to_state, trigger=trigger,
                reason=reason, detail=detail, actor=actor, ts=now,
            )
        ).inserted_primary_key[0]
        fence = self.fences.get(variant) if self.fences and fenced else None
        if fence is not None:
            self._check_fence(conn, variant, fence, "transition not recorded")
        res = conn.execute(
            update(T_STATE)
            .where(T_STATE.c.variant == variant, T_STATE.c.state == from_state)
            .values(state=to_state, reason=reason, detail=detail, since=now, last_transition=tid)
        )
        if res.rowcount != 1:
            raise _StaleState(variant)
        return int(tid)

    @staticmethod
    def _check_fence(conn: Connection, variant: str, fence: Fence, what: str = "order not recorded") -> None:
        """Still the lease's owner with the same token, in the caller's transaction (the row
        lock orders it against a takeover); raises FencedError and the caller writes nothing."""
        c = T_STATE.c
        res = conn.execute(update(T_STATE).where(c.variant == variant, c.owner == fence.owner,
                                                 c.epoch == fence.epoch).values(epoch=c.epoch))
        if res.rowcount != 1:
            raise fence.lost(variant, what)

    # --- leases: each variant is traded by exactly one runner at a time ------------------
    def acquire_lease(self, variant: str, owner: str, ttl_s: float, dead_owner: str | None = None) -> int | None:
        """Take the variant if nobody holds it, its lease lapsed, we hold it already, or it is
        held by ``dead_owner`` (a runner proven dead). Returns the fencing token (epoch), which
        goes up by one whenever the lease changes hands; None if another runner holds it."""
        from datetime import timedelta

        from sqlalchemy import case

        now = utcnow()
        c = T_STATE.c
        free = (c.owner.is_(None)) | (c.owner == owner) | (c.lease_until < now)
        if dead_owner:
            free = free | (c.owner == dead_owner)
        epoch = func.coalesce(c.epoch, 0)
        try:
            with self.engine.begin() as conn:
                limit_lock_wait(conn)  # a row another runner holds locked is as good as held
                res = conn.execute(
                    update(T_STATE).where(c.variant == variant, free)
                    .values(owner=owner, lease_until=now + timedelta(seconds=ttl_s),
                            epoch=case((c.owner == owner, epoch), else_=epoch + 1))
                )
                if res.rowcount != 1:
                    self._lose(variant)
                    return None
                token = int(conn.execute(select(c.epoch).where(c.variant == variant)).scalar_one())
        except DatabaseError as exc:
            if not is_lock_timeout(exc):
                raise
            self._lose(variant)
            return None
        self.lost.pop(variant, None)
        self.fences[variant] = Fence(owner, token, time.monotonic() + ttl_s, ttl_s)
        return token

    def _lose(self, variant: str) -> None:
        if (fence := self.fences.pop(variant, None)) is not None:
            self.lost[variant] = fence  # a thread still holding the engine must not act unfenced

    def confirm_fence(self, variant: str, what: str = "order recorded but not sent") -> None:
        """Between an order's (fenced) write and its send: a runner frozen in that gap (SIGSTOP,
        a paused VM) past its lease may thaw after another runner took the variant over and
        resolved the order as never sent; sending it then trades behind the new owner's back.
        So a lease whose local validity ran out is renewed before the send, and if the variant
        is no longer ours the order stays unsent (FencedError; the new owner finds it by client
        id, as after a crash between the write and the send). Also before an order's write and a
        cancel (``what`` says which); a lease found lost earlier (``lost``) refuses at once."""
        fence = self.fences.get(variant) if self.fences else None
        if fence is None:
            if self.lost and (gone := self.lost.get(variant)) is not None:
                raise gone.lost(variant, what)
            return
        if time.monotonic() < fence.valid_until:
            return
        if variant not in self.renew_leases(fence.owner, [variant], fence.ttl_s):
            raise fence.lost(variant, what)

    def renew_leases(self, owner: str, variants: list[str], ttl_s: float) -> set[str]:
        """Extend our leases; returns the variants we still hold (a lost one must stop trading)."""
        from datetime import timedelta

        if not variants:
            return set()
        now = utcnow()
        c = T_STATE.c
        t0 = time.monotonic()
        with self.engine.begin() as conn:
            conn.execute(update(T_STATE).where(c.owner == owner, c.variant.in_(variants))
                         .values(lease_until=now + timedelta(seconds=ttl_s)))
            held = set(conn.execute(select(c.variant).where(c.owner == owner, c.variant.in_(variants))).scalars())
        for v in variants:
            fence = self.fences.get(v)
            if v not in held:
                self._lose(v)
            elif fence is not None:
                fence.valid_until = t0 + ttl_s
        return held

    def release_leases(self, owner: str) -> None:
        self.fences.clear()
        with self.engine.begin() as conn:
            conn.execute(update(T_STATE).where(T_STATE.c.owner == owner).values(owner=None, lease_until=None))

    def transitions(
        self, variant: str | None = None, after_id: int = 0, limit: int | None = None
    ) -> list[m.Transition]:
        q = select(T_TRANS).where(T_TRANS.c.id > after_id)
        if variant:
            q = q.where(T_TRANS.c.variant == variant)
        q = q.order_by(T_TRANS.c.id)
        if limit:
            q = q.order_by(None).order_by(T_TRANS.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        out = [m.Transition(**r) for r in rows]
        return sorted(out, key=lambda t: t.id or 0)

    # --- runs ----------------------------------------------------------------------------
    def ensure_run(self, run_id: str, kind: str, variant: str | None = None) -> None:
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(T_RUNS.c.run_id).where(T_RUNS.c.run_id == run_id)).first() is None:
                    conn.execute(insert(T_RUNS).values(run_id=run_id, kind=kind, variant=variant, started=utcnow()))
        except IntegrityError:
            pass  # two runners starting on a fresh shared ledger: the other one created it

    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(T_RUNS).where(T_RUNS.c.run_id == run_id)
                .values(ended=utcnow(), summary=json.dumps(summary, default=str))
            )

    def discard_backtest(self, run_id: str, variant_key: str) -> None:
        """Remove every row of a backtest that failed on bad input: bad input writes nothing."""
        with self.engine.begin() as conn:
            cids = select(T_ORDERS.c.client_order_id).where(T_ORDERS.c.run_id == run_id)
            conn.execute(T_EVENTS.delete().where(T_EVENTS.c.client_order_id.in_(cids)))
            for table in (T_ORDERS, T_FILLS, T_POS, T_SKIPS, T_EQUITY, T_RUNS):
                conn.execute(table.delete().where(table.c.run_id == run_id))
            for table in (T_TRANS, T_STATE, T_DEPLOY):
                conn.execute(table.delete().where(table.c.variant == variant_key))

    # --- orders --------------------------------------------------------------------------
    def next_seq(self, run_id: str, variant: str) -> int:
        with self.engine.connect() as conn:
            cur = conn.execute(
                select(func.max(T_ORDERS.c.seq)).where(T_ORDERS.c.run_id == run_id, T_ORDERS.c.variant == variant)
            ).scalar()
        return (cur or 0) + 1

    def record_order(self, order: dict[str, Any], conn: Connection | None = None) -> None:
        """Write the order and its ``submitting`` event; raises IntegrityError on a duplicate id.

        A variant this ledger handle holds a lease for is fenced: this runner must still be the
        lease's owner with the same token, checked in the order's own transaction (the row lock
        orders it against a takeover; raises FencedError: nothing written). A lapsed lease that
        nobody took over still fences correctly: nobody else trades the variant."""
        fence = self.fences.get(order["variant"]) if self.fences else None
        if conn is None and self._fast is not None:
            self._fast.record_order(order, fence)
            return
        if conn is None:
            with self.engine.begin() as c:
                self.record_order(order, c)
            return
        if fence is not None:
            self._check_fence(conn, order["variant"], fence)
        conn.execute(insert(T_ORDERS).values(**order))
        conn.execute(
            insert(T_EVENTS).values(client_order_id=order["client_order_id"], status="submitting", ts=order["created"])
        )

    def order_event(
        self, client_order_id: str, status: str, venue_order_id: str | None = None, detail: str = ""
    ) -> None:
        if self._fast is not None:
            self._fast.order_event(client_order_id, status, venue_order_id, detail, utcnow())
            return
        with self.engine.begin() as conn:
            conn.execute(
                insert(T_EVENTS).values(
                    client_order_id=client_order_id, status=status, venue_order_id=venue_order_id,
                    detail=detail, ts=utcnow(),
                )
            )

    def order_row(self, client_order_id: str) -> m.Order | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T_ORDERS).where(T_ORDERS.c.client_order_id == client_order_id)).mappings().first()
        return m.Order(**row) if row else None

    def order_status(self, client_order_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(T_EVENTS.c.status).where(T_EVENTS.c.client_order_id == client_order_id)
                .order_by(T_EVENTS.c.id.desc()).limit(1)
            ).scalar()

    def orders_with_status(
        self, statuses: Iterable[str], run_id: str = m.MAIN_RUN, variant: str | None = None
    ) -> list[tuple[m.Order, str]]:
        """Orders whose latest event is one of ``statuses`` (status derived from events)."""
        last = (
            select(T_EVENTS.c.client_order_id, func.max(T_EVENTS.c.id).label("last_id"))
            .group_by(T_EVENTS.c.client_order_id).subquery()
        )
        q = (
            select(T_ORDERS, T_EVENTS.c.status)
            .join(last, last.c.client_order_id == T_ORDERS.c.client_order_id)
            .join(T_EVENTS, T_EVENTS.c.id == last.c.last_id)
            .where(T_EVENTS.c.status.in_(list(statuses)), T_ORDERS.c.run_id == run_id)
            .order_by(T_ORDERS.c.id)
        )
        if variant:
            q = q.where(_owned_by(variant))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        out = []
        for r in rows:
            d = dict(r)
            status = d.pop("status")
            out.append((m.Order(**d), status))
        return out

    def group_legs(self, run_id: str, variant: str, limit: int = 200) -> list[tuple[m.Order, str]]:
        """The latest opening-group legs (entries with a group id) of a variant, with their status."""
        last = (
            select(T_EVENTS.c.client_order_id, func.max(T_EVENTS.c.id).label("last_id"))
            .group_by(T_EVENTS.c.client_order_id).subquery()
        )
        q = (
            select(T_ORDERS, T_EVENTS.c.status)
            .join(last, last.c.client_order_id == T_ORDERS.c.client_order_id, isouter=True)
            .join(T_EVENTS, T_EVENTS.c.id == last.c.last_id, isouter=True)
            .where(T_ORDERS.c.run_id == run_id, _owned_by(variant),
                   T_ORDERS.c.group_id.is_not(None), T_ORDERS.c.purpose.in_(("entry", "pair_repair")))
            .order_by(T_ORDERS.c.id.desc()).limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        out = []
        for r in rows[::-1]:
            d = dict(r)
            status = d.pop("status") or "submitting"
            out.append((m.Order(**d), status))
        return out

    def orders(self, run_id: str = m.MAIN_RUN, variant: str | None = None, limit: int = 200) -> list[m.Order]:
        q = select(T_ORDERS).where(T_ORDERS.c.run_id == run_id)
        if variant:
            q = q.where(T_ORDERS.c.variant == variant)
        q = q.order_by(T_ORDERS.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [m.Order(**r) for r in conn.execute(q).mappings().all()][::-1]

    # --- fills and positions -------------------------------------------------------------
    def apply_fills(self, fills: Sequence[NewFill], conn: Connection | None = None, fresh: bool = False
                    ) -> list[NewFill]:
        """Insert fills not seen before and move their positions, in one transaction (``conn``'s
        when given). Returns the fills that were new. A fill key already present changes nothing.
        ``fresh``: the caller minted these keys itself (a backtest), so skip looking them up; the
        UNIQUE constraint still refuses a duplicate.
        """
        if not fills:
            return []
        if conn is None:
            with self.engine.begin() as c:
                return self.apply_fills(fills, c, fresh)
        applied: list[NewFill] = []
        if not fresh:
            _to_owner(conn, fills)
        keys = [f.fill_key for f in fills]
        seen: set[str] = set() if fresh else set(
            conn.execute(select(T_FILLS.c.fill_key).where(T_FILLS.c.fill_key.in_(keys))).scalars())
        positions: dict[tuple[str, str, str], tuple[PositionState, str, bool]] = {}
        for f in fills:
            if f.fill_key in seen:
                continue
            seen.add(f.fill_key)
            pkey = (f.run_id, f.variant, f.instrument)
            if pkey not in positions:
                positions[pkey] = (*self._position_state(conn, pkey), f.account)  # type: ignore[assignment]
            state, exists, _acct = positions[pkey]
            state = apply_fill(state, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts)
            positions[pkey] = (state, exists, f.account)
            applied.append(f)
        if not applied:
            return []
        self._insert_fills(conn, applied)
        self._write_positions(conn, positions, {(f.run_id, f.variant, f.instrument): f.price for f in applied})
        return applied

    def record_folded_fills(self, conn: Connection, rows: Sequence[tuple[Any, ...]],
                            positions: Mapping[tuple[str, str, str], tuple[PositionState, str, Decimal]]) -> None:
        """Insert fresh fills, encoded with :func:`fill_row`, whose positions the caller folded
        with :func:`apply_fill` itself (a backtest engine: its positions start flat and see
        exactly these fills). ``positions`` maps (run_id, variant, instrument) to (state after
        the last fill, account, that fill's price)."""
        insert_many(conn, "fills", FILL_COLUMNS, list(rows), encoded=True)
        states = {pkey: (st, self._position_state(conn, pkey)[1], acct) for pkey, (st, acct, _px) in positions.items()}
        self._write_positions(conn, states, {pkey: px for pkey, (_st, _acct, px) in positions.items()})

    @staticmethod
    def _insert_fills(conn: Connection, fills: Sequence[NewFill]) -> None:
        ts = ts_for(conn.dialect.name)
        insert_many(conn, "fills", FILL_COLUMNS, [fill_row(f, ts) for f in fills], encoded=True)

    @staticmethod
    def _write_positions(conn: Connection, positions: Mapping[tuple[str, str, str], tuple[PositionState, bool, str]],
                         last_price: Mapping[tuple[str, str, str], Decimal]) -> None:
        now = utcnow()
        for (run_id, variant, inst), (st, exists, acct) in positions.items():
            values = dict(
                account=acct, qty=st.qty, avg_price=st.avg_price, realized_pnl=st.realized_pnl,
                fees=st.fees, opened=st.opened, updated=now, last_price=last_price.get((run_id, variant, inst)),
            )
            if exists:
                conn.execute(
                    update(T_POS).where(
                        T_POS.c.run_id == run_id, T_POS.c.variant == variant, T_POS.c.instrument == inst
                    ).values(**values)
                )
            else:
                conn.execute(insert(T_POS).values(run_id=run_id, variant=variant, instrument=inst, **values))

    @staticmethod
    def _position_state(conn: Connection, pkey: tuple[str, str, str]) -> tuple[PositionState, bool]:
        run_id, variant, inst = pkey
        row = conn.execute(
            select(T_POS).where(T_POS.c.run_id == run_id, T_POS.c.variant == variant, T_POS.c.instrument == inst)
        ).mappings().first()
        if row is None:
            return PositionState(), False
        return PositionState(row["qty"], row["avg_price"], row["realized_pnl"], row["fees"], row["opened"]), True

    def flag_fills(self, client_order_id: str, flag: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(T_FILLS).where(T_FILLS.c.client_order_id == client_order_id).values(flag=flag))

    def fills(
        self, run_id: str = m.MAIN_RUN, variant: str | None = None, limit: int | None = 200,
        instrument: str | None = None,
    ) -> list[m.Fill]:
        q = select(T_FILLS).where(T_FILLS.c.run_id == run_id)
        if variant:
            q = q.where(T_FILLS.c.variant == variant)
        if instrument:
            q = q.where(T_FILLS.c.instrument == instrument)
        q = q.order_by(T_FILLS.c.id.desc())
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [m.Fill(**r) for r in conn.execute(q).mappings().all()][::-1]

    def filled_qty(self, client_order_id: str) -> Decimal:
        with self.engine.connect() as conn:
            vals = conn.execute(select(T_FILLS.c.qty).where(T_FILLS.c.client_order_id == client_order_id)).scalars()
            return sum((Decimal(v) for v in vals), Decimal(0))

    def positions(self, run_id: str = m.MAIN_RUN, variant: str | None = None) -> list[m.Position]:
        q = select(T_POS).where(T_POS.c.run_id == run_id)
        if variant:
            q = q.where(T_POS.c.variant == variant)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(T_POS.c.variant, T_POS.c.instrument)).mappings().all()
        return [m.Position(**r) for r in rows]

    # --- skips, equity, cursors, heartbeat -----------------------------------------------
    def add_skips(self, run_id: str, variant: str, counts: dict[str, int], conn: Connection | None = None) -> None:
        if not counts:
            return
        if conn is None:
            with self.engine.begin() as c:
                self.add_skips(run_id, variant, counts, c)
            return
        now = utcnow()
        for reason, n in counts.items():
            res = conn.execute(
                update(T_SKIPS)
                .where(T_SKIPS.c.run_id == run_id, T_SKIPS.c.variant == variant, T_SKIPS.c.reason == reason)
                .values(count=T_SKIPS.c.count + n, last_ts=now)
            )
            if res.rowcount == 0:
                conn.execute(insert(T_SKIPS).values(run_id=run_id, variant=variant, reason=reason, count=n, last_ts=now))

    def skips(self, run_id: str = m.MAIN_RUN, variant: str | None = None) -> dict[str, int]:
        q = select(T_SKIPS.c.reason, T_SKIPS.c.count).where(T_SKIPS.c.run_id == run_id)
        if variant:
            q = q.where(T_SKIPS.c.variant == variant)
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for reason, n in conn.execute(q):
                out[reason] = out.get(reason, 0) + n
        return out

    def add_equity(self, rows: list[dict[str, Any]], conn: Connection | None = None) -> None:
        if not rows:
            return
        if conn is None:
            with self.engine.begin() as c:
                c.execute(insert(T_EQUITY), rows)
            return
        conn.execute(insert(T_EQUITY), rows)

    def cursor(self, account: str, name: str = "fills") -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(T_CURSORS.c.value).where(T_CURSORS.c.account == account, T_CURSORS.c.name == name)
            ).scalar()

    def set_cursor(self, account: str, value: str | None, name: str = "fills") -> None:
        with self.engine.begin() as conn:
            res = conn.execute(
                update(T_CURSORS).where(T_CURSORS.c.account == account, T_CURSORS.c.name == name).values(value=value)
            )
            if res.rowcount == 0:
                conn.execute(insert(T_CURSORS).values(account=account, name=name, value=value))

    def heartbeat(self, runner_id: str, host: str, pid: int, market_ts: datetime | None) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(
                update(T_HEART).where(T_HEART.c.runner_id == runner_id)
                .values(host=host, pid=pid, ts=utcnow(), market_ts=market_ts)
            )
            if res.rowcount == 0:
                conn.execute(insert(T_HEART).values(runner_id=runner_id, host=host, pid=pid, ts=utcnow(), market_ts=market_ts))

    def heartbeats(self) -> list[m.Heartbeat]:
        with self.engine.connect() as conn:
            return [m.Heartbeat(**r) for r in conn.execute(select(T_HEART)).mappings().all()]


def _owned_by(variant: str):  # type: ignore[no-untyped-def]
    """The orders ``variant`` owns: placed and not handed away, or handed to it (runner promote)."""
    cid = T_ORDERS.c.client_order_id
    return or_(and_(T_ORDERS.c.variant == variant, cid.not_in(select(T_HANDED.c.client_order_id))),
               cid.in_(select(T_HANDED.c.client_order_id).where(T_HANDED.c.to_variant == variant)))


def _to_owner(conn: Connection, fills: Sequence[NewFill]) -> None:
    """A fill of an order a promotion handed over belongs to the order's new owner, whoever read it."""
    cids = {f.client_order_id for f in fills if f.client_order_id}
    if not cids:
        return
    owner = dict(conn.execute(select(T_HANDED.c.client_order_id, T_HANDED.c.to_variant)
                              .where(T_HANDED.c.client_order_id.in_(cids))).all())
    if owner:
        for f in fills:
            if f.client_order_id in owner:
                f.variant = owner[f.client_order_id]


class _StaleState(Exception):
    """The variant moved before our compare-and-set: the transaction is rolled back."""


def fill_row(f: NewFill, ts: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """A fill as driver values, in FILL_COLUMNS order (``ts``: the dialect's encoder, see ts_for)."""
    return (f.fill_key, f.client_order_id, f.run_id, f.variant, f.account, f.instrument, f.side, dec(f.qty),
            dec(f.price), dec(f.fee), f.liquidity, f.group_id, f.flag, ts(f.ts))


FILL_COLUMNS = ("fill_key", "client_order_id", "run_id", "variant", "account", "instrument", "side", "qty", "price",
                "fee", "liquidity", "group_id", "flag", "ts")
