"""Dust fragments: ledger positions too small to close with one order on their venue.

Judged with the precision a runner recorded (``instruments``); without any, nothing is called
dust (small positions are never guessed away). Read by `runner dust`, the dashboard and the
audits' clean-up plan (``runner.audit.dust``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from runner.ledger.version import MAIN_RUN
from runner.readmodels.db import ReadDB, ts


@dataclass(frozen=True)
class Fragment:
    venue: str  # the account
    instrument: str
    variant: str
    qty: Decimal  # signed
    price: Decimal
    age_s: float | None
    state: str

    @property
    def value(self) -> Decimal:
        return abs(self.qty) * self.price

    def as_json(self) -> dict[str, object]:
        return {"venue": self.venue, "instrument": self.instrument, "variant": self.variant, "qty": self.qty,
                "value": self.value, "age_s": self.age_s, "price": self.price, "state": self.state}


def fragments(db: ReadDB, now: datetime | None = None) -> list[Fragment]:
    """Every dust position in the ledger, retired variants included."""
    from runner.readmodels.status import instruments, marks, position_rows

    now = now or datetime.now(UTC)
    insts = instruments(db)
    if not insts:
        return []
    states = dict(db.rows("SELECT variant, state FROM variant_state"))
    mk = marks(db)
    out = []
    for p in position_rows(db, MAIN_RUN):
        inst = insts.get((p["account"], p["instrument"]))
        # the recorded mid; the last fill only where no runner marked it (runner.ledger.marks.position_price)
        mark = mk.get((p["account"], p["instrument"]))
        price = mark[1] if mark is not None and mark[1] else (p["last_price"] or p["avg_price"])
        if not p["qty"] or inst is None or not inst.is_dust(p["qty"], price):
            continue
        last = db.one("SELECT ts FROM fills WHERE run_id = ? AND variant = ? AND instrument = ? ORDER BY id DESC "
                      "LIMIT 1", (MAIN_RUN, p["variant"], p["instrument"]))
        since = ts(last) or p["updated"]
        out.append(Fragment(p["account"], p["instrument"], p["variant"], p["qty"], price,
                            (now - since).total_seconds() if since else None, states.get(p["variant"], "-")))
    return sorted(out, key=lambda f: (f.venue, f.instrument, f.variant))
