"""A variant's own rows: its deployment, the deploy errors of its file, its current state and
the transitions that led there. A state changes only by compare-and-set together with its
transition row, fenced by the lease when this handle holds one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from runner.ledger import models as m
from runner.ledger.leases import Fence, check_fence
from runner.ledger.tables import T_DEPLOY, T_ERRORS, T_STATE, T_TRANS
from runner.ledger.types import utcnow


class StaleState(Exception):
    """The variant moved before our compare-and-set: the transaction is rolled back."""


class VariantRows:
    def __init__(self, engine: Engine, fences: dict[str, Fence], fence_check: Callable[..., None] = check_fence) -> None:
        self.engine = engine
        self.fences = fences
        self.fence_check = fence_check  # (conn, variant, fence, what): raises FencedError, see leases.check_fence

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
                tid = self.insert_transition(conn, variant, from_state, to_state, trigger, reason, detail, actor, now)
        except StaleState:
            return None
        return m.Transition(
            id=tid, variant=variant, from_state=from_state, to_state=to_state, trigger=trigger,
            reason=reason, detail=detail, actor=actor, ts=now,
        )

    def insert_transition(
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
            self.fence_check(conn, variant, fence, "transition not recorded")
        res = conn.execute(
            update(T_STATE)
            .where(T_STATE.c.variant == variant, T_STATE.c.state == from_state)
            .values(state=to_state, reason=reason, detail=detail, since=now, last_transition=tid)
        )
        if res.rowcount != 1:
            raise StaleState(variant)
        return int(tid)

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
