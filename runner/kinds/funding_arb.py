"""funding_arb: long spot + short perp of equal quantity while funding pays the short.

Open when the annualized funding rate exceeds ``open_apr``; close both legs when it falls
below ``close_apr`` or flips sign. Both legs carry one group tag, so the engine writes them
as one ledger transaction and tracks their balance. Decisions are taken on the perp's events.
Funding itself is booked by the engine from the venue's settlements, not here.

The funding interval annualizes the rate, and venues change it: Hyperliquid's BTC history
went from 8-hourly to hourly settlements in June 2023, and a fixed 8 h would read an hourly
rate as an eighth of what it pays. So the interval comes from the venue when it says
(``extra['funding_interval_s']``), else from the data: the shortest of the last three gaps
between settlements, so a missed settlement (a 2 h gap among hourly ones) does not halve
the rate and a switch to a shorter interval counts from its first settlement. ``funding_interval`` fixes it only when set; until it is known nothing opens.

A pair whose legs differ (one leg filled, or filled in part: 0.0566 BTC was once left naked
for days) waits ``pair_timeout`` for late fills (skip ``pair_unbalanced``). If the legs still
differ then and the pair would be opened now (funding above ``open_apr``, basis inside
``max_basis_bps``), the smaller leg is topped up once (``pair_repair``: an urgent order that
joins the pair's group), flagged ``pair_repaired``. If they still differ ``pair_timeout``
after that (or the pair is no longer wanted), the excess of the larger leg is unwound
(``pair_unwind`` orders) so the position is delta-neutral again whatever the funding, and
flagged ``pair_unwound``. Both flags are audit findings pointing at the unbalanced-pair
runbook section. Legs filling a step apart are not flagged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import Field, model_validator

from runner.kinds.base import (
    FLAT,
    REPAIR,
    Decision,
    GroupTolerance,
    Intent,
    KindParams,
    MarketEvent,
    PositionView,
    Strategy,
)
from runner.kinds.units import Duration

YEAR_S = 365.0 * 86400.0
GAPS_KEPT = 3  # the interval is the shortest of the latest gaps between settlements


class FundingArbParams(KindParams):
    spot: str | None = Field(None, description="spot instrument (default: the first instrument)")
    perp: str | None = Field(None, description="perp instrument (default: the second instrument)")
    open_apr: float = Field(0.15, description="open when annualized funding exceeds this (0.15 = 15%)")
    close_apr: float = Field(0.05, description="close when annualized funding falls below this")
    funding_interval: Duration | None = Field(
        None, gt=0, description="fixed time between settlements; default: from the venue or the data")
    order_notional: Decimal = Field(Decimal(1000), gt=0, description="quote currency per leg")
    max_basis_bps: float = Field(50.0, gt=0, description="do not open when perp and spot are further apart")
    pair_timeout: Duration = Field(30.0, gt=0, description="unwind a pair's excess leg after this long unbalanced")
    max_leg_mismatch: float = Field(0.01, ge=0, lt=1, description="legs within this fraction count as balanced")

    @model_validator(mode="after")
    def _close_below_open(self) -> FundingArbParams:
        if self.close_apr >= self.open_apr:
            raise ValueError(f"close_apr ({self.close_apr}) must be below open_apr ({self.open_apr})")
        return self


def annualized(rate: float, interval_s: float) -> float:
    return rate * YEAR_S / interval_s


class FundingInterval:
    """The interval between funding settlements, as the venue states it or the data shows it."""

    def __init__(self, fixed: float | None) -> None:
        self.fixed = fixed
        self.venue: float | None = None
        self.last_ts: float | None = None
        self.gaps: deque[float] = deque(maxlen=GAPS_KEPT)

    def observe(self, extra: Mapping[str, float]) -> None:
        if "funding_interval_s" in extra:
            self.venue = float(extra["funding_interval_s"])
        ts = extra.get("funding_settled_ts")
        if ts is None or ts == self.last_ts:
            return
        if self.last_ts is not None and ts > self.last_ts:
            self.gaps.append(ts - self.last_ts)
        self.last_ts = ts

    @property
    def seconds(self) -> float | None:
        if self.fixed is not None:
            return self.fixed
        if self.venue is not None:
            return self.venue
        return min(self.gaps) if self.gaps else None


class FundingArb(Strategy):
    Params = FundingArbParams
    streams = ("bars", "quotes", "books")
    default_stream = "bars:1m"
    side_streams = ("funding",)
    NEEDS = {"shorting": "it shorts the perp against the spot"}

    @classmethod
    def instrument_problem(cls, params: KindParams, instruments: Sequence[str]) -> str | None:
        assert isinstance(params, FundingArbParams)
        spot = params.spot or (instruments[0] if instruments else None)
        perp = params.perp or (instruments[1] if len(instruments) > 1 else None)
        if spot is None or perp is None:
            return "funding_arb needs a spot and a perp instrument (list both, or name them in params spot/perp)"
        if spot == perp:
            return f"funding_arb's spot and perp are the same instrument {spot!r}"
        missing = [f"{leg} {sym!r}" for leg, sym in (("spot", spot), ("perp", perp)) if sym not in instruments]
        if missing:
            return f"the {' and '.join(missing)} of the pair must be listed in instruments (only those are read)"
        return None

    @classmethod
    def group_tolerance(cls, params: KindParams) -> GroupTolerance:
        """A legged pair waits ``pair_timeout``, is topped up, and unwound ``pair_timeout`` later:
        two timeouts from its last fill, plus one more for the unwind to fill; legs within
        ``max_leg_mismatch`` are balanced for the kind, so for the audit too."""
        assert isinstance(params, FundingArbParams)
        return GroupTolerance(3.0 * float(params.pair_timeout), params.max_leg_mismatch)

    def __init__(self, params: FundingArbParams, instruments: Sequence[str]) -> None:
        super().__init__(params, instruments)
        if len(instruments) < 2 and not (params.spot and params.perp):
            raise ValueError("funding_arb needs a spot and a perp instrument")
        self.p = params
        self.spot = params.spot or instruments[0]
        self.perp = params.perp or instruments[1]
        self.mids: dict[str, float] = {}
        self.rate: float | None = None
        self.interval = FundingInterval(params.funding_interval)
        self.unbalanced_since: float | None = None
        self.repaired_at: float | None = None  # one top-up per unbalanced spell

    @property
    def warm(self) -> bool:
        return self.rate is not None and self.spot in self.mids and self.perp in self.mids

    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision:
        if ev.bid > 0:
            self.mids[ev.instrument] = ev.mid
        if ev.instrument == self.perp and ev.extra:
            self.interval.observe(ev.extra)
            if "funding_rate" in ev.extra:
                self.rate = float(ev.extra["funding_rate"])
        if not self.warm:
            return "warming"
        if ev.instrument != self.perp:
            return "waiting_for_perp"  # decide on the perp's event: the funding rate and the latest prices
        assert self.rate is not None
        p = self.p
        spot_q = positions.get(self.spot, FLAT).qty
        perp_q = positions.get(self.perp, FLAT).qty
        interval = self.interval.seconds
        apr = annualized(self.rate, interval) if interval else None
        if spot_q or perp_q:
            if self.rate < 0 or (apr is not None and apr < p.close_apr):
                self.unbalanced_since = self.repaired_at = None
                return self._close(spot_q, perp_q)
            return self._balance(ev.ts, spot_q, perp_q, self._wanted(apr))
        self.unbalanced_since = self.repaired_at = None
        if apr is None:
            return "funding_interval_unknown"
        if not self._wanted(apr):
            return "funding_below_open" if apr <= p.open_apr else "basis_too_wide"
        spot_mid = self.mids[self.spot]
        qty = float(p.order_notional) / spot_mid
        return [
            Intent(self.spot, "buy", "entry", qty=qty, group="pair"),
            Intent(self.perp, "sell", "entry", qty=qty, group="pair"),
        ]

    def _close(self, spot_q: float, perp_q: float) -> list[Intent]:
        out = []
        if spot_q:
            out.append(Intent(self.spot, "sell" if spot_q > 0 else "buy", "exit", close=True, group="pair"))
        if perp_q:
            out.append(Intent(self.perp, "buy" if perp_q < 0 else "sell", "exit", close=True, group="pair"))
        return out

    def _wanted(self, apr: float | None) -> bool:
        """Would a pair be opened now: funding above ``open_apr`` and the basis narrow enough."""
        if apr is None or apr <= self.p.open_apr:
            return False
        spot_mid, perp_mid = self.mids[self.spot], self.mids[self.perp]
        return abs(perp_mid - spot_mid) / spot_mid * 10_000.0 <= self.p.max_basis_bps

    def _balance(self, now: float, spot_q: float, perp_q: float, wanted: bool) -> Decision:
        """Hold a balanced pair; after the timeout top up an unbalanced one that is still
        wanted, once, and unwind its excess if that did not balance it within another timeout."""
        long, short = abs(spot_q), abs(perp_q)
        if abs(long - short) <= self.p.max_leg_mismatch * max(long, short):
            self.unbalanced_since = self.repaired_at = None
            return "holding"
        if self.unbalanced_since is None:
            self.unbalanced_since = now
        if now - self.unbalanced_since < self.p.pair_timeout:
            return "pair_unbalanced"
        if self.repaired_at is None and wanted:
            self.repaired_at = now
            self.flag("pair_repaired")
            if long > short:
                return [Intent(self.perp, "sell" if spot_q > 0 else "buy", REPAIR, qty=long - short, urgent=True,
                               group="pair")]
            return [Intent(self.spot, "buy" if perp_q < 0 else "sell", REPAIR, qty=short - long, urgent=True,
                           group="pair")]
        if self.repaired_at is not None and now - self.repaired_at < self.p.pair_timeout:
            return "pair_repairing"
        self.flag("pair_unwound")
        if long > short:
            side = "sell" if spot_q > 0 else "buy"
            if short == 0:
                return [Intent(self.spot, side, "pair_unwind", close=True, urgent=True, group="pair")]
            return [Intent(self.spot, side, "pair_unwind", qty=long - short, urgent=True, group="pair")]
        side = "buy" if perp_q < 0 else "sell"
        if long == 0:
            return [Intent(self.perp, side, "pair_unwind", close=True, urgent=True, group="pair")]
        return [Intent(self.perp, side, "pair_unwind", qty=short - long, urgent=True, group="pair")]
