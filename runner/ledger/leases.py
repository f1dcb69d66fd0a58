"""Leases and fencing: each variant is traded by exactly one runner at a time.

A lease is the owner and expiry on the variant's state row; its token (epoch) goes up whenever
it changes hands. The :class:`Fence` a handle holds is checked inside the very transaction of a
fenced write (an order, a transition), so a runner that lost the variant writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError

from runner.errors import FencedError
from runner.ledger.pg_session import is_lock_timeout, limit_lock_wait
from runner.ledger.tables import T_STATE
from runner.ledger.types import utcnow


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


def check_fence(conn: Connection, variant: str, fence: Fence, what: str = "order not recorded") -> None:
    """Still the lease's owner with the same token, in the caller's transaction (the row
    lock orders it against a takeover); raises FencedError and the caller writes nothing."""
    c = T_STATE.c
    res = conn.execute(update(T_STATE).where(c.variant == variant, c.owner == fence.owner,
                                             c.epoch == fence.epoch).values(epoch=c.epoch))
    if res.rowcount != 1:
        raise fence.lost(variant, what)


class Leases:
    """Takes, renews and releases leases; keeps ``fences`` (variant -> Fence, shared with the
    writers that check them) in step with what the database says we hold, and ``lost`` (the
    leases this handle held and lost) for the checks that must refuse at once."""

    def __init__(self, engine: Engine, fences: dict[str, Fence], lost: dict[str, Fence]) -> None:
        self.engine = engine
        self.fences = fences
        self.lost = lost

    def acquire_lease(self, variant: str, owner: str, ttl_s: float, dead_owner: str | None = None) -> int | None:
        """Take the variant if nobody holds it, its lease lapsed, we hold it already, or it is
        held by ``dead_owner`` (a runner proven dead). Returns the fencing token (epoch), which
        goes up by one whenever the lease changes hands; None if another runner holds it."""
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
