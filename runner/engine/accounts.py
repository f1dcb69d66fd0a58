"""An account of venues.yaml as its adapter sees it (kept apart from the runtime: a backtest or
a CLI command needs this without importing the whole live loop)."""

from __future__ import annotations

from pathlib import Path

from runner.spec.deployment_config import VenuesConfig
from venues.base import AccountConfig


def account_config(name: str, venues: VenuesConfig, home: Path) -> AccountConfig:
    spec = venues.accounts[name]
    return AccountConfig(name=name, adapter=spec.adapter, settings=spec.settings, credentials=spec.credentials,
                         url=spec.url, live=spec.live, home=home)
