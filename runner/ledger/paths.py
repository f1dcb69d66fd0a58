"""Where a deployment keeps its SQLite databases (no imports: the read path uses it too)."""

from __future__ import annotations

from pathlib import Path


def default_url(home: Path) -> str:
    """The live ledger: paper and live trading."""
    return f"sqlite:///{(home / 'state' / 'ledger.db').resolve()}"


def backtests_url(home: Path) -> str:
    """Backtest runs, kept apart from the live ledger so that they never slow `status`."""
    return f"sqlite:///{(home / 'state' / 'backtests.db').resolve()}"
