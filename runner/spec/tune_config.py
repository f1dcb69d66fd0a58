"""runner.yaml's ``promotion_gate:`` and ``tune:``: when a swept candidate may replace the current
parameters, and the opt-in scheduled tune. Strict like the rest of runner.yaml (unknown keys and
bad values are errors at their line).

The gate's defaults are the desk's rule: a candidate replaces the current parameters only if,
out of sample, Sharpe > current + 0.10, trades >= 60, max drawdown <= current's and total
return >= 0.9 x current's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PromotionGateSpec(BaseModel):
    """The four inequalities a candidate must all hold, judged out of sample against the current."""

    model_config = STRICT
    sharpe_margin: float = Field(0.10, ge=0, le=100, description="candidate Sharpe > current's + this")
    min_trades: int = Field(60, ge=0, le=10_000_000, description="candidate closed round trips >= this")
    drawdown_ratio: float = Field(1.0, gt=0, le=100, description="candidate max drawdown <= current's x this")
    return_ratio: float = Field(0.9, ge=0, le=100,
                                description="candidate total return >= current's x this (on a loss: "
                                            "current's - (1 - this) x |current's|, never a stricter bar)")


class TuneVariantSpec(BaseModel):
    """One variant's bounded sweep: only ``params`` keys, each with its values."""

    model_config = STRICT
    grid: dict[str, list[Any]] = Field(min_length=1, description="param -> values to try")
    random: int | None = Field(None, ge=1, le=10_000, description="try this many cells of the grid at random")
    seed: int = 0


class TuneSpec(BaseModel):
    """The scheduled tune (opt-in: no ``cron``, no tune). It never deploys: a candidate is written to
    ``candidates/`` and listed in the digest for a person to review."""

    model_config = STRICT
    cron: str | None = Field(None, description="5 fields (UTC); null: never")
    lookback_days: float = Field(7.0, gt=0, le=3650, description="recordings of sessions started this recently")
    split: float = Field(0.7, gt=0, lt=1, description="in-sample share of the recorded span")
    max_cells: int = Field(27, ge=1, le=10_000, description="a grid larger than this is sampled (seeded)")
    workers: int = Field(1, ge=1, le=256, description="processes for the sweep (the runner's loop keeps its core)")
    variants: dict[str, TuneVariantSpec] = Field(default_factory=dict, description="variant id -> its grid")
