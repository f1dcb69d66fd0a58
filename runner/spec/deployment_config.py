"""venues.yaml and runner.yaml: accounts, and the runner's own knobs, with working defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from runner.audit.thresholds import STALE_DATA_S
from runner.errors import SpecError, SpecIssue
from runner.spec.tune_config import PromotionGateSpec, TuneSpec
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


# Every number here is finite and bounded: an infinite `loop_interval_s` sleeps forever, an
# infinite `lease_ttl_s` makes a lease that never lapses (no failover), a NaN compares false.
STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
DAY_S = 86_400.0


class BackoffSpec(BaseModel):
    model_config = STRICT
    base_s: float = Field(1.0, ge=0, le=3600)
    cap_s: float = Field(60.0, ge=0, le=DAY_S)
    max_attempts: int = Field(5, ge=1, le=1000)


class AgentSpec(BaseModel):
    """The Claude path's bounds; past any of them (or on an API error) the offline answer is used."""

    model_config = STRICT
    model: str = "claude-sonnet-5-5"
    max_turns: int = Field(8, ge=1, le=100)
    max_tokens: int = Field(2048, ge=64, le=1_000_000, description="per response")
    timeout_s: float = Field(60.0, gt=0, le=3600, description="per API request")
    max_retries: int = Field(2, ge=0, le=20, description="SDK retries of a failed request")
    token_budget: int = Field(60000, ge=1000, le=100_000_000, description="input + output tokens of one question, all turns")
    max_tool_chars: int = Field(8000, ge=500, le=10_000_000, description="a tool result longer than this is cut, and says so")


class AlertSpec(BaseModel):
    model_config = STRICT
    urls: list[str] = Field(default_factory=list)  # apprise URLs
    min_interval_s: float = Field(300.0, ge=0, le=7 * DAY_S)


class DigestSpec(BaseModel):
    """The daily digest sent through ``alerts.urls`` (the previous UTC day, at ``cron``)."""

    model_config = STRICT
    cron: str | None = Field("5 0 * * *", description="5 fields (UTC); null: never sent by the runner")


class DrawdownGuardSpec(BaseModel):
    """Kill switch: total PnL of the UTC day below -max_loss stops entries everywhere until released."""

    model_config = STRICT
    max_loss: float = Field(gt=0, description="quote currency, all variants together")


class BlackoutSpec(BaseModel):
    """No entries (and resting entry orders cancelled) around scheduled events; lifts by itself."""

    model_config = STRICT
    calendar: str = Field(description="YAML file of events: [{name: CPI, at: 2026-12-10T13:30:00Z}, ...]")
    before_min: float = Field(15.0, ge=0, le=7 * 24 * 60)
    after_min: float = Field(15.0, ge=0, le=7 * 24 * 60)


class ExposureGroupSpec(BaseModel):
    """At most ``max_positions`` variants holding positions in these instruments at once."""

    model_config = STRICT
    instruments: list[str] = Field(min_length=1)
    max_positions: int = Field(ge=1)


class GuardsSpec(BaseModel):
    model_config = STRICT
    daily_drawdown: DrawdownGuardSpec | None = None
    blackouts: BlackoutSpec | None = None
    exposure_groups: dict[str, ExposureGroupSpec] = Field(default_factory=dict)


class RunnerConfig(BaseModel):
    model_config = STRICT
    loop_interval_s: float = Field(0.2, gt=0, le=60, description="market poll period in paper mode")
    backoff: BackoffSpec = BackoffSpec()
    anomaly_tolerance: float = Field(0.01, ge=0, le=1, description="fill qty difference accepted as data_anomaly")
    rejection_limit: int = Field(1, ge=1, le=1000, description="rejections before quarantine")
    equity_interval_s: float = Field(5.0, gt=0, le=DAY_S)
    lease_ttl_s: float = Field(10.0, gt=1, le=3600,
                               description="a variant's lease lapses this long after its runner's last renewal")
    stale_data_s: float = Field(STALE_DATA_S, gt=0, le=DAY_S)  # runner.audit.thresholds: one source
    stop_timeout_s: float = Field(30.0, gt=0, le=600,
                                  description="a clean stop waits this long for each account's last cancels and "
                                              "fill reads (all accounts at once); the next start does the rest")
    record: bool = Field(True, description="record each paper/live session under state/recordings/")
    recordings_keep_days: float = Field(7.0, ge=0, le=3650,
                                        description="paper/live recordings older than this are removed at start")
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
    digest: DigestSpec = DigestSpec()
    promotion_gate: PromotionGateSpec = PromotionGateSpec()  # `runner sweep` and the scheduled tune
    tune: TuneSpec = TuneSpec()


_ACCOUNTS = TypeAdapter(dict[str, AccountSpec])

DEFAULT_VENUES_YAML = """\
# Accounts the variants name in `venue:`. Secrets are never written here: `credentials`
# maps a setting to the NAME of an environment variable that holds it.
sim:
  adapter: sim
  seed: 7
  speed: 60          # venue seconds per wall second: 1-minute bars close every second
  fill_latency: next_step   # an order that takes meets the NEXT market step's book, as in a backtest
"""


def load_venues(home: Path) -> VenuesConfig:
    path = home / "venues.yaml"
    doc = load_yaml(path) if path.exists() else parse_yaml(DEFAULT_VENUES_YAML, "<default venues.yaml>")
    if not isinstance(doc.data, dict):
        raise SpecError(_not_mapping(doc.file))
    try:
        config = VenuesConfig(accounts=_ACCOUNTS.validate_python(doc.data))
    except ValidationError as exc:
        raise SpecError(issues_from_validation(exc, doc)) from None
    from venues.registry import adapter_names

    known = adapter_names()
    unknown = [SpecIssue(doc.file, doc.line_of((name, "adapter")), f"{name}.adapter",
                         f"unknown adapter {acct.adapter!r}; known adapters: {', '.join(known)}")
               for name, acct in config.accounts.items() if acct.adapter not in known]
    if unknown:
        raise SpecError(unknown)
    return config


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
