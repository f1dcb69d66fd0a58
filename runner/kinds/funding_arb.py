"""funding_arb: long spot + short perp of equal quantity while funding pays the short.

Open when the annualized funding rate exceeds ``open_apr``; close both legs when it falls
below ``close_apr`` or flips sign. Both legs carry one group tag, so the engine writes them
as one ledger transaction and tracks their balance. Decisions are taken on the perp's events. With only one leg held (the other did
not fill) the strategy opens nothing and waits for the close signal to unwind what is held.
Funding itself is booked by the engine from the venue's settlements, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import Field, model_validator

from runner.kinds.base import FLAT, Decision, Intent, KindParams, MarketEvent, PositionView, Strategy
from runner.kinds.units import Duration

YEAR_S = 365.0 * 86400.0


class FundingArbParams(KindParams):
    spot: str | None = Field(None, description="spot instrument (default: the first instrument)")
    perp: str | None = Field(None, description="perp instrument (default: the second instrument)")
    open_apr: float = Field(0.15, description="open when annualized funding exceeds this (0.15 = 15%)")
    close_apr: float = Field(0.05, description="close when annualized funding falls below this")
    funding_interval: Duration = Field(3600.0, gt=0, description="time between funding settlements")
    order_notional: Decimal = Field(Decimal(1000), gt=0, description="quote currency per leg")
    max_basis_bps: float = Field(50.0, gt=0, description="do not open when perp and spot are further apart")

    @model_validator(mode="after")
    def _close_below_open(self) -> FundingArbParams:
        if self.close_apr >= self.open_apr:
            raise ValueError(f"close_apr ({self.close_apr}) must be below open_apr ({self.open_apr})")
        return self


def annualized(rate: float, interval_s: float) -> float:
    return rate * YEAR_S / interval_s


class FundingArb(Strategy):
    Params = FundingArbParams
    streams = ("bars", "quotes", "books")
    default_stream = "bars:1m"
    side_streams = ("funding",)

    def __init__(self, params: FundingArbParams, instruments: Sequence[str]) -> None:
        super().__init__(params, instruments)
        if len(instruments) < 2 and not (params.spot and params.perp):
            raise ValueError("funding_arb needs a spot and a perp instrument")
        self.p = params
        self.spot = params.spot or instruments[0]
        self.perp = params.perp or instruments[1]
        self.mids: dict[str, float] = {}
        self.rate: float | None = None

    @property
    def warm(self) -> bool:
        return self.rate is not None and self.spot in self.mids and self.perp in self.mids

    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision:
        if ev.bid > 0:
            self.mids[ev.instrument] = ev.mid
        if ev.instrument == self.perp and "funding_rate" in ev.extra:
            self.rate = float(ev.extra["funding_rate"])
        if not self.warm:
            return "warming"
        if ev.instrument != self.perp:
            return "waiting_for_perp"  # decide on the perp's event: the funding rate and the latest prices
        assert self.rate is not None
        p = self.p
        apr = annualized(self.rate, p.funding_interval)
        spot_q = positions.get(self.spot, FLAT).qty
        perp_q = positions.get(self.perp, FLAT).qty
        if spot_q or perp_q:
            if apr < p.close_apr or self.rate < 0:
                out = []
                if spot_q:
                    out.append(Intent(self.spot, "sell" if spot_q > 0 else "buy", "exit", close=True, group="pair"))
                if perp_q:
                    out.append(Intent(self.perp, "buy" if perp_q < 0 else "sell", "exit", close=True, group="pair"))
                return out
            return "holding" if spot_q and perp_q else "pair_unbalanced"
        if apr <= p.open_apr:
            return "funding_below_open"
        spot_mid, perp_mid = self.mids[self.spot], self.mids[self.perp]
        if abs(perp_mid - spot_mid) / spot_mid * 10_000.0 > p.max_basis_bps:
            return "basis_too_wide"
        qty = float(p.order_notional) / spot_mid
        return [
            Intent(self.spot, "buy", "entry", qty=qty, group="pair"),
            Intent(self.perp, "sell", "entry", qty=qty, group="pair"),
        ]
