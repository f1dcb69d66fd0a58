"""Fills and the positions they move. A position is derived from its fills
(``runner.ledger.positions.apply_fill``) and written in the fills' own transaction, so the two
always agree; a fill key already present changes nothing (fills are read more than once)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from runner.ledger import models as m
from runner.ledger.fastpath import dec, insert_many, ts_for
from runner.ledger.positions import PositionState, apply_fill
from runner.ledger.tables import T_FILLS, T_HANDED, T_POS
from runner.ledger.types import utcnow


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


class FillRows:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
            to_owner(conn, fills)
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
                positions[pkey] = (*position_state(conn, pkey), f.account)  # type: ignore[assignment]
            state, exists, _acct = positions[pkey]
            state = apply_fill(state, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts)
            positions[pkey] = (state, exists, f.account)
            applied.append(f)
        if not applied:
            return []
        insert_fills(conn, applied)
        write_positions(conn, positions, {(f.run_id, f.variant, f.instrument): f.price for f in applied})
        return applied

    def record_folded_fills(self, conn: Connection, rows: Sequence[tuple[Any, ...]],
                            positions: Mapping[tuple[str, str, str], tuple[PositionState, str, Decimal]]) -> None:
        """Insert fresh fills, encoded with :func:`fill_row`, whose positions the caller folded
        with :func:`apply_fill` itself (a backtest engine: its positions start flat and see
        exactly these fills). ``positions`` maps (run_id, variant, instrument) to (state after
        the last fill, account, that fill's price)."""
        insert_many(conn, "fills", FILL_COLUMNS, list(rows), encoded=True)
        states = {pkey: (st, position_state(conn, pkey)[1], acct) for pkey, (st, acct, _px) in positions.items()}
        write_positions(conn, states, {pkey: px for pkey, (_st, _acct, px) in positions.items()})

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

    def known_fills(self, keys: Sequence[str]) -> set[str]:
        """The fill keys among ``keys`` the ledger has."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(T_FILLS.c.fill_key).where(T_FILLS.c.fill_key.in_(list(keys)))).scalars())

    def holders(self, account: str) -> list[tuple[str, str]]:
        """(variant, instrument) of every variant not flat on ``account``, of any runner and state."""
        q = select(T_POS.c.variant, T_POS.c.instrument).where(
            T_POS.c.run_id == m.MAIN_RUN, T_POS.c.account == account, T_POS.c.qty != 0)
        with self.engine.connect() as conn:
            return [(v, i) for v, i in conn.execute(q).all()]


def insert_fills(conn: Connection, fills: Sequence[NewFill]) -> None:
    ts = ts_for(conn.dialect.name)
    insert_many(conn, "fills", FILL_COLUMNS, [fill_row(f, ts) for f in fills], encoded=True)


def write_positions(conn: Connection, positions: Mapping[tuple[str, str, str], tuple[PositionState, bool, str]],
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


def position_state(conn: Connection, pkey: tuple[str, str, str]) -> tuple[PositionState, bool]:
    run_id, variant, inst = pkey
    row = conn.execute(
        select(T_POS).where(T_POS.c.run_id == run_id, T_POS.c.variant == variant, T_POS.c.instrument == inst)
    ).mappings().first()
    if row is None:
        return PositionState(), False
    return PositionState(row["qty"], row["avg_price"], row["realized_pnl"], row["fees"], row["opened"]), True


def to_owner(conn: Connection, fills: Sequence[NewFill]) -> None:
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


def fill_row(f: NewFill, ts: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """A fill as driver values, in FILL_COLUMNS order (``ts``: the dialect's encoder, see ts_for)."""
    return (f.fill_key, f.client_order_id, f.run_id, f.variant, f.account, f.instrument, f.side, dec(f.qty),
            dec(f.price), dec(f.fee), f.liquidity, f.group_id, f.flag, ts(f.ts))


FILL_COLUMNS = ("fill_key", "client_order_id", "run_id", "variant", "account", "instrument", "side", "qty", "price",
                "fee", "liquidity", "group_id", "flag", "ts")
