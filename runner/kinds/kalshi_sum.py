"""kalshi_sum: buy both sides of a binary market when they cost less than the 100c payout.

``scope: market``: when ``yes_ask + no_ask < 100 - min_gap`` with at least ``min_depth`` at
both asks, buy YES and NO (same count: the thinner ask, capped by ``max_contracts``) as IOC
legs of one group. ``scope: event``: the instruments are the markets of one mutually
exclusive event; buy YES on every market when the YES asks sum below ``100 - min_gap``.
Exactly one leg pays 100c at settlement, so a pair earns ``100 - cost`` minus fees: an
entry needs ``count x (100 - cost) - fees >= count x min_gap``, the fees being Kalshi's taker
fee ``ceil(taker_fee_rate x C x P x (1 - P))`` dollars on every leg (the old rule ignored
fees and bought sums the fees ate). An orphan (one leg filled, the other not) is flattened at
the bid by the next sweep; with ``max_hold`` set, legs held longer are sold at the bid too.
Prices are cents; positions are per leg (``M:yes``, ``M:no``).

``max_contracts`` caps the pairs held per market, netted ones included: a venue that nets YES
against NO (Kalshi, the sim) turns a pair into cash at once, and a kind that only counted held
legs re-entered on every book while the gap stayed open, paying fees each time. So the pairs
the engine booked as netted (``venue_netted``) still count until the market settles (a new
``settled_id``): the same cap as on a venue that keeps both legs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from runner.kinds.base import FLAT, Decision, Intent, KindParams, MarketEvent, PositionView, Strategy
from runner.kinds.binary import PAYOUT, is_binary, legs
from runner.kinds.units import Duration
from runner.money import kalshi_fee_cents_float


class KalshiSumParams(KindParams):
    scope: Literal["market", "event"] = "market"
    min_gap: float = Field(2.0, ge=0, lt=100, description="cents of edge required below 100")
    min_depth: float = Field(5.0, ge=1, description="contracts required at each ask")
    max_contracts: int = Field(50, ge=1, description="contracts per leg per market")
    taker_fee_rate: float = Field(0.07, ge=0, lt=1, description="Kalshi's taker fee coefficient (0 for a fee-free market)")
    max_hold: Duration | None = Field(None, gt=0, description="sell legs held longer than this at the bid (none: hold to settlement)")


def pair_edge(count: int, asks: Sequence[float], rate: float) -> float:
    """Cents a set of legs (one of which pays 100) earns at ``count`` contracts, after taker fees."""
    fees = sum(kalshi_fee_cents_float(count, a, rate) for a in asks)
    return count * (PAYOUT - sum(asks)) - fees


class KalshiSum(Strategy):
    Params = KalshiSumParams
    streams = ("books",)  # every change of a binary market's book
    default_stream = "books"
    binary = True
    NEEDS = {"binary_markets": "it trades the YES and NO legs of binary markets"}

    def __init__(self, params: KalshiSumParams, instruments: Sequence[str]) -> None:
        super().__init__(params, instruments)
        self.p = params
        self.books: dict[str, Mapping[str, float]] = {}
        self.rounds: dict[str, float | None] = {}  # market -> the settlement id its book last named
        self.netted_base: dict[str, float] = {}  # market -> venue_netted when it last settled

    @property
    def warm(self) -> bool:
        return bool(self.books)

    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision:
        if not is_binary(ev.extra):
            return "no_binary_book"
        self.books[ev.instrument] = ev.extra
        netted = self._netted(ev.instrument, ev.extra)
        sweep = self.sweep(positions) + self.expire(ev.ts, positions)
        if sweep:
            return sweep
        if self.p.scope == "market":
            return self._market(ev.instrument, ev.extra, positions, netted)
        return self._event(positions)

    def _netted(self, m: str, book: Mapping[str, float]) -> float:
        """Pairs of ``m`` the venue netted into cash since the market last settled."""
        total = self.venue_netted.get(m, 0.0)
        sid = book.get("settled_id")
        if sid != self.rounds.get(m, sid):  # settled: its pairs are paid; the next round starts empty
            self.netted_base[m] = total
        self.rounds[m] = sid
        return total - self.netted_base.get(m, 0.0)

    def sweep(self, positions: Mapping[str, PositionView]) -> list[Intent]:
        """Sell the excess of any leg over its partner(s) at the bid: orphans are not carried."""
        out = []
        if self.p.scope == "market":
            for m, book in self.books.items():
                y, n = legs(m)
                yq, nq = positions.get(y, FLAT).qty, positions.get(n, FLAT).qty
                if yq > nq:
                    out.append(Intent(y, "sell", "orphan_sweep", qty=yq - nq, price=book["yes_bid"], urgent=True))
                elif nq > yq:
                    out.append(Intent(n, "sell", "orphan_sweep", qty=nq - yq, price=book["no_bid"], urgent=True))
            return [i for i in out if i.price and i.price > 0]
        if len(self.books) < len(self.instruments):
            return []
        held = {m: positions.get(legs(m)[0], FLAT).qty for m in self.instruments}
        low = min(held.values())
        for m, q in held.items():
            bid = self.books[m]["yes_bid"]
            if q > low and bid > 0:
                out.append(Intent(legs(m)[0], "sell", "orphan_sweep", qty=q - low, price=bid, urgent=True))
        return out

    def expire(self, now: float, positions: Mapping[str, PositionView]) -> list[Intent]:
        """Legs held longer than ``max_hold`` are sold at their bid (urgent)."""
        limit = self.p.max_hold
        if limit is None:
            return []
        out = []
        for m, book in self.books.items():
            for leg, bid_key in zip(legs(m), ("yes_bid", "no_bid"), strict=True):
                pos = positions.get(leg, FLAT)
                bid = book.get(bid_key, 0.0)
                if pos.qty > 0 and pos.opened_ts is not None and now - pos.opened_ts >= limit and bid > 0:
                    out.append(Intent(leg, "sell", "time_stop", close=True, price=bid, urgent=True))
        return out

    def _market(self, m: str, book: Mapping[str, float], positions: Mapping[str, PositionView],
                netted: float = 0.0) -> Decision:
        p = self.p
        cost = book["yes_ask"] + book["no_ask"]
        if cost >= PAYOUT - p.min_gap:
            return "no_gap"
        depth = min(book.get("no_bid_size", 0.0), book.get("yes_bid_size", 0.0))  # asks are the opposite bids
        if depth < p.min_depth:
            return "too_thin"
        y, n = legs(m)
        room = p.max_contracts - max(positions.get(y, FLAT).qty, positions.get(n, FLAT).qty) - netted
        count = int(min(depth, room))
        if count < 1:
            return "max_contracts"
        if pair_edge(count, (book["yes_ask"], book["no_ask"]), p.taker_fee_rate) < count * p.min_gap:
            return "fees_exceed_gap"
        return [
            Intent(y, "buy", "entry", qty=float(count), price=book["yes_ask"], urgent=True, group=m),
            Intent(n, "buy", "entry", qty=float(count), price=book["no_ask"], urgent=True, group=m),
        ]

    def _event(self, positions: Mapping[str, PositionView]) -> Decision:
        p = self.p
        if len(self.books) < len(self.instruments):
            return "warming"
        cost = sum(self.books[m]["yes_ask"] for m in self.instruments)
        if cost >= PAYOUT - p.min_gap:
            return "no_gap"
        depth = min(self.books[m].get("no_bid_size", 0.0) for m in self.instruments)
        if depth < p.min_depth:
            return "too_thin"
        room = p.max_contracts - max(positions.get(legs(m)[0], FLAT).qty for m in self.instruments)
        count = int(min(depth, room))
        if count < 1:
            return "max_contracts"
        asks = [self.books[m]["yes_ask"] for m in self.instruments]
        if pair_edge(count, asks, p.taker_fee_rate) < count * p.min_gap:
            return "fees_exceed_gap"
        return [
            Intent(legs(m)[0], "buy", "entry", qty=float(count), price=self.books[m]["yes_ask"], urgent=True,
                   group="event")
            for m in self.instruments
        ]
