"""The variant file: one frozen, strict model. ``params`` is validated by the kind's own schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runner.spec.data import DataSpec

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9-]*$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RiskSpec(Frozen):
    max_order_notional: Decimal = Field(gt=0, description="quote currency, one order")
    max_position_notional: Decimal = Field(gt=0, description="quote currency, per instrument")
    max_daily_loss: Decimal = Field(gt=0, description="quote currency, realized + unrealized, UTC day")


class SessionWindow(Frozen):
    """Trading hours: entries only inside; exits run at any time."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    tz: str = "UTC"

    @field_validator("tz")
    @classmethod
    def _known_tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class ExecutionSpec(Frozen):
    """How intents become orders (shared by every kind)."""

    style: Literal["taker", "maker"] = "taker"
    slippage_cap_bps: float = Field(20.0, ge=0, le=1000)
    reprice_threshold_bps: float = Field(5.0, ge=0)
    max_reprices: int = Field(5, ge=0)
    lifetime_s: float = Field(60.0, gt=0)


class VariantSpec(Frozen):
    schema_version: Literal[1] = 1
    name: str = Field(pattern=NAME_PATTERN)
    version: int = Field(ge=1)
    kind: str
    venue: str
    mode: Literal["backtest", "paper", "live"]
    instruments: list[str] = Field(min_length=1)
    params: dict[str, Any]
    risk: RiskSpec
    execution: ExecutionSpec = ExecutionSpec()
    data: DataSpec | None = None  # the market-data stream; None: the kind's default (spec/data.py)
    sessions: list[SessionWindow] | None = None
    retired: bool = False
    notes: str | None = None

    @property
    def variant_id(self) -> str:
        return f"{self.name}_v{self.version}"
