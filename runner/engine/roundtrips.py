"""Round trips a quant would sign: what a backtest's ``trades`` count and list.

A trip opens when an instrument leaves flat and closes when it is flat again. A fill that
flips a position closes one trip and opens the next with the rest of its quantity (the fee
split pro rata): 2,314 fills of a flipping strategy are many trips, never 3. A multi-leg group
(a funding pair, YES+NO) is ONE trip over all its legs, closed when every leg is flat again,
settlement included. Each trip keeps its full quantity and average entry and exit prices, its
PnL net of fees and funding in the account's currency, and fees and funding apart. Trips still
open at the end are reported apart, marked at the last mid.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from runner.ledger.positions import PositionState
from runner.ledger.store import NewFill

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(slots=True)
class Leg:
    side: str  # long | short
    entry_qty: Decimal = ZERO
    entry_cost: Decimal = ZERO  # sum of qty x price, quote units
    exit_qty: Decimal = ZERO
    exit_cost: Decimal = ZERO

    def row(self) -> dict[str, Any]:
        return {"side": self.side, "qty": float(self.entry_qty),
                "entry_price": float(self.entry_cost / self.entry_qty) if self.entry_qty else None,
                "exit_price": float(self.exit_cost / self.exit_qty) if self.exit_qty else None}


@dataclass(slots=True)
class Trip:
    key: str  # instrument, or group id
    group: bool
    entry_ts: float
    legs: dict[str, Leg] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # legs not flat yet
    exit_ts: float | None = None
    pnl: Decimal = ZERO  # account currency: realized - fees + funding
    fees: Decimal = ZERO
    funding: Decimal = ZERO

    def row(self) -> dict[str, Any]:
        """One trade row. A group's prices are per unit of its largest leg: the net cost paid
        to open (buys +, sells -) and the net proceeds of closing (a YES+NO pair: 95 in, 100 out)."""
        if not self.group:
            (sym, leg), = self.legs.items()
            out = {"instrument": sym, **leg.row()}
        else:
            qty = max((leg.entry_qty for leg in self.legs.values()), default=ZERO)
            sign = {"long": 1, "short": -1}
            cost = sum((sign[leg.side] * leg.entry_cost for leg in self.legs.values()), ZERO)
            proceeds = sum((sign[leg.side] * leg.exit_cost for leg in self.legs.values()), ZERO)
            out = {"group": self.key, "side": "group", "qty": float(qty),
                   "entry_price": float(cost / qty) if qty else None,
                   "exit_price": float(proceeds / qty) if qty and self.exit_ts is not None else None,
                   "legs": {sym: leg.row() for sym, leg in self.legs.items()}}
        return {**out, "entry_ts": self.entry_ts, "exit_ts": self.exit_ts, "pnl": float(self.pnl),
                "fees": float(self.fees), "funding": float(self.funding)}


class TripBook:
    """Fed every fill the variant applies, with the position before and after it."""

    def __init__(self, keep: int, scale: Callable[[str], Decimal]) -> None:
        self.scale = scale  # instrument -> account-currency value of one quote unit
        self.closed: deque[Trip] = deque(maxlen=keep)
        self.count = 0
        self.wins = 0
        self.open: dict[str, Trip] = {}  # key -> open trip
        self.owner: dict[str, str] = {}  # instrument -> key of the open trip holding it
        self.fees = ZERO  # every trading fee, account currency (funding and settlement apart)
        self.funding = ZERO  # funding received (+) or paid (-), account currency
        self._k: dict[str, Decimal] = {}  # scale per instrument, asked once

    def on_fill(self, f: NewFill, old: PositionState, new: PositionState, ts: float) -> None:
        sym = f.instrument
        k = self._k.get(sym)
        if k is None:
            k = self._k[sym] = self.scale(sym)
        if f.liquidity == "funding" or not f.qty:
            income = -f.fee * k
            self.funding += income
            trip = self.open.get(self.owner.get(sym, ""))
            if trip is not None:
                trip.funding += income
                trip.pnl += income
            return
        if k == ONE:  # the common case: quote units are the account's currency
            fee, realized = f.fee, new.realized_pnl - old.realized_pnl
        else:
            fee, realized = f.fee * k, (new.realized_pnl - old.realized_pnl) * k
        if f.liquidity != "settlement":
            self.fees += fee
        flipped = old.qty != 0 and new.qty != 0 and (old.qty > 0) != (new.qty > 0)
        if flipped:
            part = abs(old.qty) / f.qty
            self._apply(sym, f, old.qty, ZERO, abs(old.qty), realized, fee * part, ts)
            self._apply(sym, f, ZERO, new.qty, abs(new.qty), ZERO, fee - fee * part, ts)
        else:
            self._apply(sym, f, old.qty, new.qty, f.qty, realized, fee, ts)

    def _apply(self, sym: str, f: NewFill, before: Decimal, after: Decimal, qty: Decimal,
               realized: Decimal, fee: Decimal, ts: float) -> None:
        key = self.owner.get(sym)
        if key is None:
            key = f.group_id or sym
            trip = self.open.get(key)
            if trip is None:
                trip = self.open[key] = Trip(key, f.group_id is not None, ts)
            self.owner[sym] = key
        trip = self.open[key]
        leg = trip.legs.get(sym)
        if leg is None:
            leg = trip.legs[sym] = Leg("long" if after > 0 else "short")
        if abs(after) > abs(before):
            leg.entry_qty += qty
            leg.entry_cost += qty * f.price
        else:
            leg.exit_qty += qty
            leg.exit_cost += qty * f.price
        trip.pnl += realized - fee
        trip.fees += fee
        if after != 0:
            trip.held.add(sym)
            return
        trip.held.discard(sym)
        del self.owner[sym]
        if not trip.held:
            trip.exit_ts = ts
            del self.open[key]
            self.closed.append(trip)
            self.count += 1
            self.wins += trip.pnl > 0

    def open_rows(self, positions: Mapping[str, PositionState], marks: Mapping[str, float]) -> list[dict[str, Any]]:
        """Trips still open, marked at the last mid: ``unrealized`` and ``pnl`` include the mark."""
        out = []
        for trip in self.open.values():
            unreal = ZERO
            for sym in trip.held:
                pos = positions.get(sym)
                if pos is not None and sym in marks:
                    unreal += pos.unrealized(Decimal(repr(marks[sym]))) * self.scale(sym)
            row = trip.row()
            row["marks"] = {sym: marks.get(sym) for sym in sorted(trip.held)}
            row["unrealized"] = float(unreal)
            row["pnl"] = float(trip.pnl + unreal)
            out.append(row)
        return out
