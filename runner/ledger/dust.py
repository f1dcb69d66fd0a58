"""Which ledger positions are dust: too small to close with one order on their venue.

Instrument precision comes from the venue's metadata as last recorded by a runner; without
any, nothing is called dust (we never guess small positions away).
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.ledger.models import Position
from runner.ledger.store import Ledger


def dust_flags(ledger: Ledger, rows: Sequence[Position]) -> dict[tuple[str, str], bool]:
    from runner.ledger.instruments import recorded_instruments
    from runner.ledger.marks import latest_marks, position_price

    insts = recorded_instruments(ledger)
    marks = latest_marks(ledger)
    out = {}
    for p in rows:
        inst = insts.get((p.account, p.instrument))
        price = position_price(p, marks)
        out[(p.variant, p.instrument)] = bool(inst and p.qty and inst.is_dust(p.qty, price))
    return out
