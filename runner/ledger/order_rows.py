"""Orders and their events. An order row is written once; its status is its latest event,
never updated in place. Writes of a variant this handle holds a lease for are fenced. On
SQLite the single-order writes take the fast path (``runner.ledger.fastpath``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import Connection, Engine

from runner.ledger import models as m
from runner.ledger.fastpath import SqliteOrderWriter
from runner.ledger.leases import Fence, check_fence
from runner.ledger.tables import T_EVENTS, T_HANDED, T_ORDERS
from runner.ledger.types import utcnow


class OrderRows:
    def __init__(self, engine: Engine, fences: dict[str, Fence], fast: SqliteOrderWriter | None,
                 fence_check: Callable[..., None] = check_fence) -> None:
        self.engine = engine
        self.fences = fences
        self.fast = fast
        self.fence_check = fence_check  # (conn, variant, fence): raises FencedError, see leases.check_fence

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
        if conn is None and self.fast is not None:
            self.fast.record_order(order, fence)
            return
        if conn is None:
            with self.engine.begin() as c:
                self.record_order(order, c)
            return
        if fence is not None:
            self.fence_check(conn, order["variant"], fence)
        conn.execute(insert(T_ORDERS).values(**order))
        conn.execute(
            insert(T_EVENTS).values(client_order_id=order["client_order_id"], status="submitting", ts=order["created"])
        )

    def order_event(
        self, client_order_id: str, status: str, venue_order_id: str | None = None, detail: str = ""
    ) -> None:
        if self.fast is not None:
            self.fast.order_event(client_order_id, status, venue_order_id, detail, utcnow())
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
            q = q.where(owned_by(variant))
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
            .where(T_ORDERS.c.run_id == run_id, owned_by(variant),
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


def owned_by(variant: str):  # type: ignore[no-untyped-def]
    """The orders ``variant`` owns: placed and not handed away, or handed to it (runner promote)."""
    cid = T_ORDERS.c.client_order_id
    return or_(and_(T_ORDERS.c.variant == variant, cid.not_in(select(T_HANDED.c.client_order_id))),
               cid.in_(select(T_HANDED.c.client_order_id).where(T_HANDED.c.to_variant == variant)))
