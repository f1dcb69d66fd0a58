"""mean_reversion: fade a rolling z-score of the mid, gated by order-book imbalance.

Entry when |z| > entry_z (buy below the mean, sell above unless long_only), exit when the
z-score is back inside exit_z (or beyond, on the other side), hard stop-loss and time-stop.
The OBI gate refuses an entry against a book leaning the other way by more than the
threshold (no gate when the data has no book, e.g. bars).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import Field, model_validator

from runner.kinds.base import FLAT, Decision, Intent, KindParams, MarketEvent, PositionView, Strategy
from runner.kinds.signals import RollingZ, obi
from runner.kinds.units import Duration


class MeanReversionParams(KindParams):
    window: int = Field(60, ge=2, le=100_000, description="bars in the rolling window")
    entry_z: float = Field(1.25, gt=0)
    exit_z: float = Field(0.5, ge=0)
    obi_levels: int = Field(5, ge=1, le=50)
    obi_threshold: float = Field(0.3, ge=0, le=1)
    long_only: bool = True
    stop_loss_pct: float = Field(0.02, gt=0, lt=1)
    max_hold: Duration = Field(3600.0, gt=0, description="time-stop, seconds or 15m / 4h")
    order_notional: Decimal = Field(Decimal(1000), gt=0, description="quote currency per entry")
    urgent_z: float = Field(3.0, gt=0, description="entries at |z| >= this go as taker even under maker style")

    @model_validator(mode="after")
    def _exit_inside_entry(self) -> MeanReversionParams:
        if self.exit_z >= self.entry_z:
            raise ValueError(f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z})")
        return self


class MeanReversion(Strategy):
    Params = MeanReversionParams
    streams = ("bars", "quotes", "books")  # `window` counts events of the declared stream
    default_stream = "bars:1m"

    def __init__(self, params: MeanReversionParams, instruments: Sequence[str]) -> None:
        super().__init__(params, instruments)
        self.p = params
        self._z = {inst: RollingZ(params.window) for inst in instruments}
        self._notional = float(params.order_notional)

    @property
    def history_needed(self) -> int:
        return self.p.window

    @property
    def warm(self) -> bool:
        return all(z.ready for z in self._z.values())

    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision:
        p = self.p
        mid = (ev.bid + ev.ask) * 0.5
        z = self._z[ev.instrument].push(mid)
        pos = positions.get(ev.instrument, FLAT)
        if pos.qty:
            return self._manage(ev, mid, z, pos)
        if z is None:
            return "warming" if not self._z[ev.instrument].ready else "flat_volatility"
        if z < -p.entry_z:
            rho = obi(ev.bid_sizes, ev.ask_sizes, p.obi_levels)
            if rho is not None and rho < -p.obi_threshold:
                return "obi_gate"
            return [Intent(ev.instrument, "buy", "entry", qty=self._notional / mid, urgent=z <= -p.urgent_z)]
        if z > p.entry_z:
            if p.long_only:
                return "long_only"
            rho = obi(ev.bid_sizes, ev.ask_sizes, p.obi_levels)
            if rho is not None and rho > p.obi_threshold:
                return "obi_gate"
            return [Intent(ev.instrument, "sell", "entry", qty=self._notional / mid, urgent=z >= p.urgent_z)]
        return "no_signal"

    def _manage(self, ev: MarketEvent, mid: float, z: float | None, pos: PositionView) -> Decision:
        p = self.p
        long = pos.qty > 0
        side = "sell" if long else "buy"
        move = (mid - pos.avg_price) / pos.avg_price if pos.avg_price else 0.0
        if (long and move <= -p.stop_loss_pct) or (not long and move >= p.stop_loss_pct):
            return [Intent(ev.instrument, side, "stop_loss", close=True, urgent=True)]
        if pos.opened_ts is not None and ev.ts - pos.opened_ts >= p.max_hold:
            return [Intent(ev.instrument, side, "time_stop", close=True, urgent=True)]
        if z is not None and ((long and z >= -p.exit_z) or (not long and z <= p.exit_z)):
            return [Intent(ev.instrument, side, "exit", close=True)]
        return "holding"
