"""Settings of a ``sim`` account in venues.yaml (all optional): spot and perp instruments, binary events."""

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
    # perps: the mid tracks ``underlying`` (same step) plus a premium; funding settles every
    # ``funding_every_steps`` steps (an accelerated "hour"): rate = mean + amp sin(2 pi n / period) + noise
    underlying: str | None = Field(None, description="perp only: the spot instrument it tracks")
    funding_every_steps: int = Field(50, ge=1)
    funding_interval_s: float = Field(3600.0, gt=0, description="the interval an accelerated funding 'hour' stands for")
    funding_mean: float = 3e-5
    funding_amp: float = 4e-5
    funding_period_steps: int = Field(1500, ge=2)
    funding_noise: float = Field(5e-6, ge=0)


class SimBinaryEvent(BaseModel):
    """A binary event: one market (YES/NO), or several mutually exclusive ones (one pays)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    markets: list[str] = Field(default_factory=list, description="default: one market named like the event")
    round_steps: int = Field(150, ge=2, description="steps from listing to expiry; a new round follows")
    theta: float = Field(0.05, gt=0, le=1)
    sigma_c: float = Field(1.0, ge=0, description="per-step move of the fair price, cents")
    half_spread_c: int = Field(1, ge=1)
    depth: int = Field(5, ge=1, le=50)
    level_size: float = Field(20.0, gt=0, description="mean contracts per level")
    dislocation_prob: float = Field(0.15, ge=0, le=1, description="chance per step that one side's bid jumps")
    dislocation_max_c: int = Field(9, ge=1)
    # Kalshi's schedule: a fill of C contracts at P pays ceil(rate x C x P x (1 - P)) dollars (to the cent)
    maker_fee: Decimal = Field(Decimal("0"), ge=0, description="Kalshi fee coefficient for makers")
    taker_fee: Decimal = Field(Decimal("0.07"), ge=0, description="Kalshi fee coefficient for takers")


def _default_instruments() -> dict[str, SimInstrument]:
    return {
        "BTC-USD": SimInstrument(),
        "ETH-USD": SimInstrument(mu=2000.0, lot_size=Decimal("0.001"), min_size=Decimal("0.001"), level_size=5.0),
        "BTC-PERP": SimInstrument(kind="perp", underlying="BTC-USD"),
    }


def _default_events() -> dict[str, SimBinaryEvent]:
    return {
        "KXSIM-A": SimBinaryEvent(),
        "KXSIM-B": SimBinaryEvent(round_steps=200),
        "KXSIM-CUP": SimBinaryEvent(markets=["KXSIM-CUP-RED", "KXSIM-CUP-BLUE", "KXSIM-CUP-GOLD"], round_steps=300),
    }


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seed: int = 7
    clock: Literal["wall", "manual"] = "wall"
    tick_interval_s: float = Field(0.2, gt=0, description="wall seconds per market step")
    speed: float = Field(60.0, gt=0, le=100_000, description="venue seconds per wall second (clock: wall): "
                         "1-minute bars close every second at 60")
    fill_latency: Literal["none", "next_step"] = Field(
        "none", description="next_step: an order that takes (IOC, market, a crossing limit) meets the book of "
        "the next market step, never the one it was decided on (the backtest's fill model)")
    depth: int = Field(20, ge=1, le=100)
    price_band_pct: Decimal = Field(Decimal("0.05"), gt=0, description="limit prices beyond this from mid are rejected")
    starting_cash: Decimal = Decimal(1_000_000)
    instruments: dict[str, SimInstrument] = Field(default_factory=_default_instruments)
    binary_events: dict[str, SimBinaryEvent] = Field(default_factory=_default_events)
    store: str | None = Field(None, description="path of the sim's own account database")
    stream: bool = Field(False, description="serve books as pushed by each market step, as a venue stream does")
    stream_stale_s: float | None = Field(None, gt=0, description="kept for symmetry; the sim is never silent")
    fill_poll_s: float = Field(5.0, gt=0, description="unused: sim fills are read on every call")
    budget_scale: float = Field(1.0, gt=0, le=1, description="unused: the sim has no rate limit")
