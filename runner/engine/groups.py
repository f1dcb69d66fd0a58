"""Multi-leg groups (funding pair, YES+NO): which legs filled, and whether the group balances.

A group is opened by one ledger transaction that writes every leg (``VariantEngine.place_group``).
When every leg is final and their filled quantities differ, the group is unbalanced: the
variant opens no new group until every instrument of it is flat again (the strategy's sweep
or close did it, or an operator did). The ledger keeps the group id on orders and fills, so
the audits see the same imbalance; nothing here deletes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

ZERO = Decimal(0)


class _Pos(Protocol):
    qty: Decimal


@dataclass
class Leg:
    instrument: str
    qty: Decimal
    reported: Decimal = ZERO  # filled quantity the venue reported
    fills: Decimal = ZERO  # sum of fills received
    final: bool = False

    @property
    def filled(self) -> Decimal:
        return max(self.reported, self.fills)


@dataclass
class Group:
    gid: str
    opening: bool
    legs: dict[str, Leg] = field(default_factory=dict)  # client order id -> leg
    counted: bool = False

    @property
    def done(self) -> bool:
        return all(leg.final for leg in self.legs.values())

    @property
    def balanced(self) -> bool:
        """Every instrument filled the same in total (a repair adds a second leg to one)."""
        if len(self.legs) <= 2:
            return len({leg.filled for leg in self.legs.values()}) <= 1
        per: dict[str, Decimal] = {}
        for leg in self.legs.values():
            per[leg.instrument] = per.get(leg.instrument, ZERO) + leg.filled
        return len(set(per.values())) <= 1

    @property
    def instruments(self) -> set[str]:
        return {leg.instrument for leg in self.legs.values()}


class GroupBook:
    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.by_cid: dict[str, str] = {}
        self.open_by_instrument: dict[str, str] = {}  # latest opening group per instrument
        self.unbalanced: set[str] = set()
        self.pairs = 0  # opening groups that completed balanced with fills
        self.orphans = 0  # opening groups that completed unbalanced

    def add(self, gid: str, opening: bool, cid: str, instrument: str, qty: Decimal) -> None:
        g = self.groups.setdefault(gid, Group(gid, opening))
        g.legs[cid] = Leg(instrument, qty)
        self.by_cid[cid] = gid
        if opening:
            self.open_by_instrument[instrument] = gid

    def on_report(self, cid: str, final: bool, filled: Decimal) -> None:
        g = self.groups.get(self.by_cid.get(cid, ""))
        if g is None:
            return
        leg = g.legs[cid]
        leg.reported = max(leg.reported, filled)
        leg.final = leg.final or final
        self._check(g)

    def on_fill(self, cid: str, qty: Decimal) -> None:
        g = self.groups.get(self.by_cid.get(cid, ""))
        if g is None:
            return
        g.legs[cid].fills += qty
        if g.legs[cid].filled >= g.legs[cid].qty:
            g.legs[cid].final = True
        self._check(g)

    def _check(self, g: Group) -> None:
        if not (g.opening and g.done):
            return
        if not g.balanced and g.gid not in self.unbalanced:
            self.unbalanced.add(g.gid)
            self.orphans += 1
        elif g.balanced and g.gid in self.unbalanced:  # a late fill completed it
            self.unbalanced.discard(g.gid)
            self.orphans -= 1
        elif g.balanced and not g.counted and any(leg.filled for leg in g.legs.values()):
            g.counted = True
            self.pairs += 1

    def restore(self, legs: list[tuple[str, str, str, Decimal, Decimal, bool]]) -> None:
        """Rebuild the opening groups a restart must remember: (gid, client id, instrument, qty,
        filled, final) per leg, as the ledger has them. Unbalanced ones block new groups again."""
        for gid, cid, instrument, qty, filled, final in legs:
            self.add(gid, True, cid, instrument, qty)
            leg = self.groups[gid].legs[cid]
            leg.reported, leg.final = filled, final
        for gid in {leg[0] for leg in legs}:
            self._check(self.groups[gid])

    def group_for(self, instrument: str) -> str | None:
        """The opening group an exit on ``instrument`` belongs to (closing writes the same id)."""
        return self.open_by_instrument.get(instrument)

    def blocking(self, positions: Mapping[str, _Pos]) -> str | None:
        """``group_unbalanced`` while an unbalanced group still holds a position."""
        for gid in list(self.unbalanced):
            g = self.groups[gid]
            if all(not getattr(positions.get(i), "qty", ZERO) for i in g.instruments):
                self.unbalanced.discard(gid)  # resolved: flattened; the ledger still shows it
        return "group_unbalanced" if self.unbalanced else None

    def prune(self, keep: int = 512) -> None:
        """Forget old completed groups (the ledger keeps them): a long backtest stays small."""
        if len(self.groups) <= keep * 2:
            return
        live = set(self.open_by_instrument.values()) | self.unbalanced
        for gid in list(self.groups)[: len(self.groups) - keep]:
            g = self.groups[gid]
            if gid in live or not g.done:
                continue
            for cid in g.legs:
                self.by_cid.pop(cid, None)
            del self.groups[gid]
