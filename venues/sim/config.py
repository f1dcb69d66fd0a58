"""Settings of a ``sim`` account in venues.yaml (all optional)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SimInstrument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("0.0001")
    min_size: Decimal = Decimal("0.0001")
    min_notional: Decimal = Decimal("10")
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    kind: str = "spot"
    # Ornstein-Uhlenbeck mid: dx = theta (mu - x) dt + sigma x dW, one step per tick
    mu: float = 30000.0
    theta: float = Field(0.02, gt=0, le=1)
    sigma: float = Field(0.0012, gt=0, description="per-step volatility, fraction of price")
    spread_bps: float = Field(1.0, gt=0)
    level_size: float = Field(0.5, gt=0, description="mean size per book level")


def _default_instruments() -> dict[str, SimInstrument]:
    return {
        "BTC-USD": SimInstrument(),
        "ETH-USD": SimInstrument(mu=2000.0, lot_size=Decimal("0.001"), min_size=Decimal("0.001"), level_size=5.0),
    }


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seed: int = 7
    clock: Literal["wall", "manual"] = "wall"
    tick_interval_s: float = Field(0.2, gt=0, description="wall seconds per market step")
    depth: int = Field(20, ge=1, le=100)
    price_band_pct: Decimal = Field(Decimal("0.05"), gt=0, description="limit prices beyond this from mid are rejected")
    starting_cash: Decimal = Decimal(1_000_000)
    instruments: dict[str, SimInstrument] = Field(default_factory=_default_instruments)
    store: str | None = Field(None, description="path of the sim's own account database")
