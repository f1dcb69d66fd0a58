"""Adapter factories by name, imported lazily so a CLI command pays only for what it uses."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from runner.errors import BadInputError
from venues.base import AccountConfig, Instrument, VenueAdapter

ADAPTERS: dict[str, str] = {
    "sim": "venues.sim.adapter:create",
    "ccxt": "venues.ccxt.adapter:create",
    "alpaca": "venues.alpaca.adapter:create",
    "hyperliquid": "venues.hyperliquid.adapter:create",
    "kalshi": "venues.kalshi.adapter:create",
}


def adapter_names() -> list[str]:
    return sorted(ADAPTERS)


def create_adapter(account: AccountConfig) -> VenueAdapter:
    """Build (not connect) the adapter of ``account``. An unknown adapter name is bad input."""
    target = ADAPTERS.get(account.adapter)
    if target is None:
        raise BadInputError(f"account {account.name}: unknown adapter {account.adapter!r} in venues.yaml; "
                            f"known adapters: {', '.join(adapter_names())}")
    module, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    return factory(account)


OFFLINE: dict[str, str] = {"sim": "venues.sim.adapter:offline_instruments"}


def offline_instruments(account: AccountConfig) -> Mapping[str, Instrument]:
    """Instrument metadata an adapter knows without the network (the sim's, from its settings);
    empty for venues whose metadata lives on the venue. Used by backtests."""
    target = OFFLINE.get(account.adapter)
    if target is None:
        return {}
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)(account)
