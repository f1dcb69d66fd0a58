"""Runs and what accrues to them (skip counts, equity snapshots), plus the runner's own
bookkeeping (fill cursors per account, heartbeats). Small counters and markers, kept apart from
the order and fill rows whose invariants they do not share."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runner.ledger import models as m
from runner.ledger.tables import (
    T_CURSORS,
    T_DEPLOY,
    T_EQUITY,
    T_EVENTS,
    T_FILLS,
    T_HEART,
    T_ORDERS,
    T_POS,
    T_RUNS,
    T_SKIPS,
    T_STATE,
    T_TRANS,
)
from runner.ledger.types import utcnow


class RunRows:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
