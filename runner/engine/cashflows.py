"""Venue cashflows that are not trades: perp funding and binary-market settlement.

Both arrive as facts in market events (``extra``): the sim and recorded data say when a
funding interval settled at what rate, and when a binary market settled and which leg paid.
The engine books the variant's share as fill rows so positions and PnL come from fills alone:
- funding: a zero-quantity fill whose ``fee`` is minus the funding received (``apply_fill``
  with qty 0 only moves fees), key ``<account>:funding:<instrument>:<interval>:<variant>``;
- settlement: a sell of the whole leg at 100 (the paying leg) or 0, fee 0, key
  ``<account>:settle:<leg>:<round>:<variant>``.
Keys are deterministic, so a restart that sees the same settlement again books nothing twice.
Only positions opened before the settlement time share in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from runner.kinds.base import MarketEvent
from runner.kinds.binary import PAYOUT, legs
from runner.ledger.positions import PositionState
from runner.ledger.store import NewFill

ZERO = Decimal(0)


def _d(x: float) -> Decimal:
    return Decimal(repr(x))


class Cashflows:
    def __init__(self, account: str, run_id: str, variant: str) -> None:
        self.account, self.run_id, self.variant = account, run_id, variant
        self.seen: dict[str, float] = {}  # instrument -> last settlement id looked at
        self.funding_from_events = True  # off where the runtime books the venue's own records

    def book(self, ev: MarketEvent, positions: Mapping[str, PositionState], marks: Mapping[str, float]) -> list[NewFill]:
        x = ev.extra
        out: list[NewFill] = []
        if "funding_settled_id" in x and self.funding_from_events:
            out += self._funding(ev, positions, marks)
        if "settled_id" in x:
            out += self._settlement(ev, positions)
        return out

    def _fresh(self, key: str, sid: float) -> bool:
        if self.seen.get(key) == sid:
            return False
        self.seen[key] = sid
        return True

    def _funding(self, ev: MarketEvent, positions: Mapping[str, PositionState], marks: Mapping[str, float]) -> list[NewFill]:
        x = ev.extra
        sid = x["funding_settled_id"]
        pos = positions.get(ev.instrument)
        if not self._fresh(f"f:{ev.instrument}", sid) or pos is None or not pos.qty:
            return []
        ts = float(x.get("funding_settled_ts", ev.ts))
        if pos.opened is not None and pos.opened.timestamp() > ts:
            return []
        mark = round(marks.get(ev.instrument) or float(pos.avg_price), 8)
        rate = float(x.get("funding_settled_rate", x.get("funding_rate", 0.0)))
        fee = (_d(rate) * pos.qty * _d(mark)).quantize(Decimal("0.00000001"))
        key = f"{self.account}:funding:{ev.instrument}:{int(sid)}:{self.variant}"
        return [NewFill(key, None, self.run_id, self.variant, self.account, ev.instrument,
                        "buy" if pos.qty > 0 else "sell", ZERO, _d(mark), fee, datetime.fromtimestamp(ts, UTC),
                        "funding")]

    def _settlement(self, ev: MarketEvent, positions: Mapping[str, PositionState]) -> list[NewFill]:
        x = ev.extra
        sid = x["settled_id"]
        if not self._fresh(f"s:{ev.instrument}", sid):
            return []
        ts = float(x.get("settled_ts", ev.ts))
        yes_pays = float(x.get("settled_yes", 0.0))
        out = []
        for leg, pays in zip(legs(ev.instrument), (yes_pays, PAYOUT - yes_pays), strict=True):
            pos = positions.get(leg)
            if pos is None or not pos.qty or (pos.opened is not None and pos.opened.timestamp() > ts):
                continue
            key = f"{self.account}:settle:{leg}:{int(sid)}:{self.variant}"
            out.append(NewFill(key, None, self.run_id, self.variant, self.account, leg,
                               "sell" if pos.qty > 0 else "buy", abs(pos.qty), _d(pays), ZERO,
                               datetime.fromtimestamp(ts, UTC), "settlement"))
        return out


def leg_events(ev: MarketEvent) -> list[MarketEvent]:
    """Per-leg quotes of a binary market event, so each leg is priced and marked from its own book."""
    x = ev.extra
    y, n = legs(ev.instrument)
    out = []
    if x.get("yes_bid", 0.0) > 0 or x.get("yes_ask", PAYOUT) < PAYOUT:
        out.append(MarketEvent(ev.ts, y, x.get("yes_bid", 0.0), x["yes_ask"], (x.get("yes_bid_size", 0.0),),
                               (x.get("no_bid_size", 0.0),), 0.0, x))
    if x.get("no_bid", 0.0) > 0 or x.get("no_ask", PAYOUT) < PAYOUT:
        out.append(MarketEvent(ev.ts, n, x.get("no_bid", 0.0), x["no_ask"], (x.get("no_bid_size", 0.0),),
                               (x.get("yes_bid_size", 0.0),), 0.0, x))
    return out
