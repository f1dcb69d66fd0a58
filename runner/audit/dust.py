"""Dust: the report, and the clean-up plan (pure; executing it is ``close_dust``).

A fragment is a ledger position too small to close with one order on its venue, judged with
the precision the runner recorded. The plan aggregates fragments per account and instrument
(retired variants included): one closing order where the aggregate is closeable, a transfer
only where fragments net to zero, otherwise what it would take. Nothing here sends anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from runner.ledger.instruments import recorded_instruments
from runner.ledger.store import Ledger
from runner.readmodels.dust import Fragment
from venues.base import Instrument

ZERO = Decimal(0)


@dataclass(frozen=True)
class PlanItem:
    """What to do about the dust of one account and instrument."""

    account: str
    instrument: str
    fragments: tuple[Fragment, ...]
    net: Decimal
    price: Decimal
    action: str  # order | transfer | none
    side: str | None = None
    qty: Decimal = ZERO
    note: str = ""

    def as_json(self) -> dict[str, object]:
        return {"venue": self.account, "instrument": self.instrument, "net": self.net, "price": self.price,
                "value": abs(self.net) * self.price, "action": self.action, "side": self.side, "qty": self.qty,
                "note": self.note, "variants": [f.variant for f in self.fragments],
                "fragments": [f.as_json() for f in self.fragments]}


def fragments(ledger: Ledger, now: datetime | None = None) -> list[Fragment]:
    """Every dust position in the ledger, retired variants included (the read model's, one owner)."""
    from runner.readmodels.db import ReadDB
    from runner.readmodels.dust import fragments as read_fragments

    db = ReadDB.of(ledger)
    try:
        return read_fragments(db, now)
    finally:
        db.close()


def min_closeable(inst: Instrument, price: Decimal) -> Decimal:
    """The smallest quantity one order can close here (min size, min notional, the lot)."""
    need = inst.min_size
    if inst.min_notional > 0 and price > 0:
        need = max(need, inst.min_notional / price)
    lots = (need / inst.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return max(lots, Decimal(1)) * inst.lot_size


def plan(frags: Sequence[Fragment], instruments: Mapping[tuple[str, str], Instrument]) -> list[PlanItem]:
    groups: dict[tuple[str, str], list[Fragment]] = defaultdict(list)
    for f in frags:
        groups[(f.venue, f.instrument)].append(f)
    out = []
    for (account, sym), fs in sorted(groups.items()):
        net = sum((f.qty for f in fs), ZERO)
        price = max(fs, key=lambda f: abs(f.qty)).price
        inst = instruments.get((account, sym))
        base = dict(account=account, instrument=sym, fragments=tuple(fs), net=net, price=price)
        if net == 0:
            out.append(PlanItem(**base, action="transfer",  # type: ignore[arg-type]
                                note="fragments net to zero: booked as an internal transfer, no venue order"))
        elif inst is None:
            out.append(PlanItem(**base, action="none",  # type: ignore[arg-type]
                                note=f"no recorded precision for {sym} on {account}: start the runner once"))
        elif inst.floor_qty(abs(net)) == abs(net) and not inst.is_dust(net, price):
            out.append(PlanItem(**base, action="order", side="sell" if net > 0 else "buy",  # type: ignore[arg-type]
                                qty=abs(net), note=f"one {'sell' if net > 0 else 'buy'} of {abs(net)} closes "
                                                   f"{len(fs)} fragment(s)"))
        else:
            need = min_closeable(inst, price)
            top_up = need - abs(net) if need > abs(net) else inst.lot_size - abs(net) % inst.lot_size
            side = "buy" if net > 0 else "sell"
            out.append(PlanItem(**base, action="none",  # type: ignore[arg-type]
                                note=f"aggregate {net} (~{abs(net) * price:.2f}) is still dust: one order needs at "
                                     f"least {need} (min size {inst.min_size}, min notional {inst.min_notional}, "
                                     f"lot {inst.lot_size}). It would take a {side} of {top_up} first, then one "
                                     f"closing order of {abs(net) + top_up}; left recorded as dust"))
    return out


def dust_plan(ledger: Ledger) -> list[PlanItem]:
    return plan(fragments(ledger), recorded_instruments(ledger))
