"""Strategy kinds registered explicitly by name (built-ins) or through the ``runner.kinds``
entry point group (third parties). No module scanning."""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from runner.kinds.base import Strategy

BUILTIN: dict[str, str] = {
    "mean_reversion": "runner.kinds.mean_reversion:MeanReversion",
    "market_making": "runner.kinds.market_making:MarketMaking",
    "funding_arb": "runner.kinds.funding_arb:FundingArb",
    "kalshi_sum": "runner.kinds.kalshi_sum:KalshiSum",
    "imbalance_scalper": "runner.kinds.imbalance_scalper:ImbalanceScalper",
}

ENTRY_POINT_GROUP = "runner.kinds"


def _load(target: str) -> type[Strategy]:
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"{target} is not a Strategy subclass")
    return cls


@cache
def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def kind_names() -> list[str]:
    return sorted({*BUILTIN, *_plugins()})


def get_kind(name: str) -> type[Strategy] | None:
    target = BUILTIN.get(name) or _plugins().get(name)
    return _load(target) if target else None
