"""venues.yaml and runner.yaml: accounts, and the runner's own knobs, with working defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from runner.errors import SpecError, SpecIssue
from runner.spec.yamlload import issues_from_validation, load_yaml, parse_yaml


class AccountSpec(BaseModel):
    """One account. Adapter-specific settings (exchange, seed...) are checked by the adapter."""

    model_config = ConfigDict(frozen=True, extra="allow")
    adapter: str
    live: bool = False
    url: str | None = None
    credentials: dict[str, str] = Field(default_factory=dict)  # setting -> ENV VAR NAME
    on_stop: Literal["cancel", "leave"] = "cancel"  # a clean stop cancels the variants' resting orders

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def secret(self, key: str) -> str | None:
        """Read one credential from the environment variable the file names."""
        env = self.credentials.get(key)
        return os.environ.get(env) if env else None


class VenuesConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    accounts: dict[str, AccountSpec]


class BackoffSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    base_s: float = 1.0
    cap_s: float = 60.0
    max_attempts: int = 5


class AgentSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = "claude-sonnet-5-5"
    max_turns: int = 8
    max_tokens: int = 2048


class AlertSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    urls: list[str] = Field(default_factory=list)  # apprise URLs
    min_interval_s: float = 300.0


class DrawdownGuardSpec(BaseModel):
    """Kill switch: total PnL of the UTC day below -max_loss stops entries everywhere until released."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_loss: float = Field(gt=0, description="quote currency, all variants together")


class BlackoutSpec(BaseModel):
    """No entries (and resting entry orders cancelled) around scheduled events; lifts by itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    calendar: str = Field(description="YAML file of events: [{name: CPI, at: 2026-12-10T13:30:00Z}, ...]")
    before_min: float = Field(15.0, ge=0)
    after_min: float = Field(15.0, ge=0)


class ExposureGroupSpec(BaseModel):
    """At most ``max_positions`` variants holding positions in these instruments at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    instruments: list[str] = Field(min_length=1)
    max_positions: int = Field(ge=1)


class GuardsSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    daily_drawdown: DrawdownGuardSpec | None = None
    blackouts: BlackoutSpec | None = None
    exposure_groups: dict[str, ExposureGroupSpec] = Field(default_factory=dict)


class RunnerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    loop_interval_s: float = Field(0.2, gt=0, description="market poll period in paper mode")
    backoff: BackoffSpec = BackoffSpec()
    anomaly_tolerance: float = Field(0.01, ge=0, description="fill qty difference accepted as data_anomaly")
    rejection_limit: int = Field(1, ge=1, description="rejections before quarantine")
    equity_interval_s: float = 5.0
    lease_ttl_s: float = Field(10.0, gt=1, description="a variant's lease lapses this long after its runner's last renewal")
    stale_data_s: float = 30.0
    record: bool = Field(True, description="record each paper/live session under state/recordings/")
    recordings_keep_days: float = Field(7.0, ge=0, description="paper/live recordings older than this are removed at start")
    audits: dict[str, str] = Field(
        default_factory=lambda: {
            "freshness": "* * * * *",
            "ledger_vs_venue": "*/5 * * * *",
            "fills_vs_positions": "0 * * * *",
            "retired_flat": "0 * * * *",
            "groups_balanced": "0 * * * *",
            "cost_sanity": "0 * * * *",
            "orphan_orders": "0 * * * *",
            "strategy_flags": "*/5 * * * *",
            "all": "0 0 * * *",
        }
    )
    alerts: AlertSpec = AlertSpec()
    agent: AgentSpec = AgentSpec()
    guards: GuardsSpec = GuardsSpec()


_ACCOUNTS = TypeAdapter(dict[str, AccountSpec])

DEFAULT_VENUES_YAML = """\
# Accounts the variants name in `venue:`. Secrets are never written here: `credentials`
# maps a setting to the NAME of an environment variable that holds it.
sim:
  adapter: sim
  seed: 7
"""


def load_venues(home: Path) -> VenuesConfig:
    path = home / "venues.yaml"
    doc = load_yaml(path) if path.exists() else parse_yaml(DEFAULT_VENUES_YAML, "<default venues.yaml>")
    if not isinstance(doc.data, dict):
        raise SpecError(_not_mapping(doc.file))
    try:
        return VenuesConfig(accounts=_ACCOUNTS.validate_python(doc.data))
    except ValidationError as exc:
        raise SpecError(issues_from_validation(exc, doc)) from None


def load_runner_config(home: Path) -> RunnerConfig:
    path = home / "runner.yaml"
    if not path.exists():
        return RunnerConfig()
    doc = load_yaml(path)
    if doc.data is None:
        return RunnerConfig()
    if not isinstance(doc.data, dict):
        raise SpecError(_not_mapping(doc.file))
    try:
        return RunnerConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(issues_from_validation(exc, doc)) from None


def _not_mapping(file: str) -> list[SpecIssue]:
    return [SpecIssue(file, 1, "", "expected a mapping of keys at the top level")]
