"""Counters the kinds' reports need (backtest ``extra`` lines), kept by the engine as it trades.

Market making: volume quoted and filled, inventory range. Funding: funding earned, trading
fees, net. Binary sums: pairs, orphans, settled PnL. Cheap to keep; nothing grows per bar.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runner.kinds.binary import legs
from runner.ledger.positions import PositionState
from runner.ledger.store import NewFill

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine

ZERO = Decimal(0)
QUOTES_KEPT = 4096  # a quote's fills arrive while it rests or soon after; older ids are dropped


@dataclass
class KindStats:
    quoted: Decimal = ZERO
    quote_filled: Decimal = ZERO
    inventory: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    funding: Decimal = ZERO  # received (positive) or paid (negative)
    trading_fees: Decimal = ZERO
    settled_pnl: Decimal = ZERO  # realized by settlements (gross of the legs' fees)
    quote_cids: dict[str, None] = field(default_factory=dict)  # the latest QUOTES_KEPT quotes, oldest first
    track_inventory: bool = True  # two Decimal compares per fill: only market making reports it

    def on_quote(self, cid: str, qty: Decimal, working: Container[str] = ()) -> None:
        self.quoted += qty
        self.quote_cids[cid] = None
        if len(self.quote_cids) > QUOTES_KEPT:  # a runner quotes for weeks: forget old closed quotes
            for old in list(self.quote_cids)[: QUOTES_KEPT // 4]:
                if old not in working:
                    del self.quote_cids[old]

    def on_fill(self, f: NewFill, old: PositionState, new: PositionState) -> None:
        if f.liquidity == "funding":
            self.funding -= f.fee
        elif f.liquidity in ("settlement", "netting"):  # netting: a pair the venue paid out at once
            self.settled_pnl += new.realized_pnl - old.realized_pnl
        else:
            self.trading_fees += f.fee
        if f.client_order_id in self.quote_cids:
            self.quote_filled += f.qty
        if not self.track_inventory:
            return
        lo, hi = self.inventory.get(f.instrument, (ZERO, ZERO))
        self.inventory[f.instrument] = (min(lo, new.qty), max(hi, new.qty))


def kind_extra(engine: VariantEngine) -> dict[str, Any]:
    """The kind-specific lines of a backtest report."""
    s: KindStats = engine.stats
    kind = engine.spec.kind
    if kind == "market_making":
        return {"volume_quoted": float(s.quoted), "volume_filled": float(s.quote_filled),
                "inventory_range": {k: [float(lo), float(hi)] for k, (lo, hi) in s.inventory.items()}}
    if kind == "funding_arb":
        realized = sum((p.realized_pnl for p in engine.positions.values()), ZERO)
        net = realized + s.funding - s.trading_fees + engine.unrealized()
        return {"funding_earned": float(s.funding), "trading_fees": float(s.trading_fees), "net_pnl": float(net)}
    if kind == "kalshi_sum":  # the legs are quoted in cents: the lines are in the account's currency
        k = engine.unit_scale(legs(engine.spec.instruments[0])[0])
        return {"pairs": engine.groups.pairs, "orphans": engine.groups.orphans,
                "settled_pnl": float(s.settled_pnl * k), "trading_fees": float(s.trading_fees * k),
                "net_pnl": float(engine.realized() + engine.unrealized())}
    return {}
