"""The last mark a runner saw per instrument, recorded for the reading commands.

``runner status`` and ``runner positions`` run in another process than the runner: they read
the mids it recorded here (with each instrument's quote unit, so cents-quoted legs convert to
the account's currency), never the last fill price. An instrument with no mark yet is shown
unmarked (``mark`` null), not marked at its fill.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select, update

from runner.ledger.models import MarkRow, Position
from runner.ledger.store import Ledger

T_MARKS = MarkRow.__table__

Mark = tuple[str, str, str, Decimal, datetime]  # account, instrument, quote, mid, ts


def record_marks(ledger: Ledger, marks: Iterable[Mark]) -> None:
    rows = list(marks)
    if not rows:
        return
    with ledger.begin() as conn:
        for account, sym, quote, mid, ts in rows:
            res = conn.execute(update(T_MARKS).where(T_MARKS.c.account == account, T_MARKS.c.instrument == sym)
                               .values(quote=quote, mid=mid, ts=ts))
            if res.rowcount == 0:
                conn.execute(insert(T_MARKS).values(account=account, instrument=sym, quote=quote, mid=mid, ts=ts))


def latest_marks(ledger: Ledger) -> dict[tuple[str, str], tuple[str, Decimal, datetime]]:
    """(account, instrument) -> (quote unit, mid, time seen)."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(T_MARKS)).mappings().all()
    return {(r["account"], r["instrument"]): (r["quote"], r["mid"], r["ts"]) for r in rows}


def position_price(p: Position, marks: Mapping[tuple[str, str], tuple[str, Decimal, datetime]]) -> Decimal:
    """What a position is worth per unit for dust and venue checks: the recorded mid (mark), the
    last fill only where no runner has marked the instrument yet, then the average cost. A
    position's last fill can be far from the market (an old entry, a settlement at 0 or 100)."""
    mark = marks.get((p.account, p.instrument))
    if mark is not None and mark[1]:
        return mark[1]
    return p.last_price or p.avg_price
