"""The maker reprice watchdog: follow a post-only entry until it fills or we give up.

A maker entry rests at the best bid (buy) or ask (sell). When the market moves away by more
than ``reprice_threshold_bps`` the order is cancelled and replaced at the new best for what is
left (partial fills count); after ``max_reprices`` replacements or ``lifetime_s`` seconds the
watchdog cancels and gives up (``maker_gave_up``). Every replacement carries the intent id of
the first order (``orders.intent_id``), so however many orders it took, the fills land on one
logical intent. Pure bookkeeping: the engine does the cancels and sends (``OrderFlow``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from runner.kinds.base import Intent, MarketEvent
from runner.spec.variant import ExecutionSpec

ZERO = Decimal(0)


@dataclass
class MakerOrder:
    intent_id: str  # client order id of the first order: the logical intent
    intent: Intent
    cid: str  # the order resting now
    price: Decimal
    qty: Decimal  # total wanted by the intent
    started: float
    reprices: int = 0
    replacing: bool = False  # cancelled for a reprice; the replacement waits for its last fills
    reported: dict[str, Decimal] = field(default_factory=dict)  # filled qty the venue reported, per order
    fills: dict[str, Decimal] = field(default_factory=dict)  # sum of fills received, per order

    @property
    def filled_total(self) -> Decimal:
        cids = set(self.reported) | set(self.fills)
        return sum((max(self.reported.get(c, ZERO), self.fills.get(c, ZERO)) for c in cids), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_total


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # reprice (cancel, then replace) | replace | give_up
    order: MakerOrder
    price: float = 0.0


class MakerWatch:
    def __init__(self, style: ExecutionSpec) -> None:
        self.style = style
        self.orders: dict[str, MakerOrder] = {}  # intent id -> order
        self.by_cid: dict[str, str] = {}  # every client order id of a tracked intent -> intent id

    def track(self, cid: str, intent: Intent, price: Decimal, qty: Decimal, ts: float) -> None:
        self.orders[cid] = MakerOrder(cid, intent, cid, price, qty, ts)
        self.by_cid[cid] = cid

    def replaced(self, mo: MakerOrder, cid: str, price: Decimal) -> None:
        mo.cid, mo.price, mo.replacing = cid, price, False
        mo.reprices += 1
        self.by_cid[cid] = mo.intent_id

    def intent_of(self, cid: str) -> str | None:
        return self.by_cid.get(cid)

    def on_report(self, cid: str, filled: Decimal) -> None:
        mo = self.orders.get(self.by_cid.get(cid, ""))
        if mo is not None and filled > mo.reported.get(cid, ZERO):
            mo.reported[cid] = filled

    def on_fill(self, cid: str, qty: Decimal) -> None:
        mo = self.orders.get(self.by_cid.get(cid, ""))
        if mo is not None:
            mo.fills[cid] = mo.fills.get(cid, ZERO) + qty

    def drop(self, mo: MakerOrder) -> None:
        self.orders.pop(mo.intent_id, None)
        for cid in [c for c, i in self.by_cid.items() if i == mo.intent_id]:
            del self.by_cid[cid]

    def decide(self, ev: MarketEvent, working: set[str]) -> list[Action]:
        """What to do about each tracked intent on ``ev.instrument`` now."""
        out = []
        for mo in list(self.orders.values()):
            if mo.intent.instrument != ev.instrument:
                continue
            buy = mo.intent.side == "buy"
            best = ev.bid if buy else ev.ask
            if mo.cid not in working:
                if mo.replacing:
                    out.append(Action("replace", mo, best))  # the cancelled order's fills are all in
                else:
                    self.drop(mo)  # filled, cancelled or rejected: nothing left to follow
                continue
            if mo.replacing:
                continue
            px = float(mo.price)
            away = ((best - px) if buy else (px - best)) / px * 10_000.0
            if ev.ts - mo.started >= self.style.lifetime_s:
                out.append(Action("give_up", mo))
            elif away > self.style.reprice_threshold_bps:
                if mo.reprices >= self.style.max_reprices:
                    out.append(Action("give_up", mo))
                else:
                    out.append(Action("reprice", mo, best))
        return out
