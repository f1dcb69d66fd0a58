"""Recording venue instrument metadata in the ledger, and reading it back."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, insert, select

from runner.ledger.models import InstrumentRow
from runner.ledger.store import Ledger
from runner.ledger.types import utcnow
from venues.base import Instrument

T_INST = InstrumentRow.__table__


def record_instruments(ledger: Ledger, account: str, instruments: Mapping[str, Instrument]) -> None:
    now = utcnow()
    with ledger.begin() as conn:
        conn.execute(delete(T_INST).where(T_INST.c.account == account))
        rows = [
            dict(account=account, symbol=i.symbol, kind=i.kind, tick_size=i.tick_size, lot_size=i.lot_size,
                 min_size=i.min_size, min_notional=i.min_notional, maker_fee=i.maker_fee, taker_fee=i.taker_fee,
                 close_waives_minimum=i.close_waives_minimum, updated=now)
            for i in instruments.values()
        ]
        if rows:
            conn.execute(insert(T_INST), rows)


def recorded_instruments(ledger: Ledger) -> dict[tuple[str, str], Instrument]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(T_INST)).mappings().all()
    return {
        (r["account"], r["symbol"]): Instrument(
            r["symbol"], r["tick_size"], r["lot_size"], r["min_size"], r["min_notional"], r["kind"],
            maker_fee=r["maker_fee"], taker_fee=r["taker_fee"],
            close_waives_minimum=bool(r["close_waives_minimum"]),
        )
        for r in rows
    }
