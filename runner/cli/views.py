"""The read models for a caller holding an open Ledger (tests, the agent, the dashboard).

The models themselves live in ``runner.readmodels`` (plain SQL through ``ReadDB``, one owner);
these wrappers read through the Ledger's own connection, so an in-memory or PostgreSQL ledger
already open in the process is read as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from runner.ledger.models import MAIN_RUN
from runner.ledger.store import Ledger

T = TypeVar("T")


def _read(ledger: Ledger, fn: Callable[..., T], *args: Any) -> T:  # noqa: ANN401
    from runner.readmodels.db import ReadDB

    db = ReadDB.of(ledger)
    try:
        return fn(db, *args)
    finally:
        db.close()


def positions_view(ledger: Ledger, variant: str | None = None, run_id: str = MAIN_RUN) -> list[dict[str, Any]]:
    from runner.readmodels.status import positions

    return _read(ledger, positions, variant, run_id)


def status_view(ledger: Ledger) -> dict[str, Any]:
    from runner.readmodels.status import status

    return _read(ledger, status)


def events_view(ledger: Ledger, variant: str | None, limit: int) -> list[dict[str, Any]]:
    from runner.readmodels.records import events

    return _read(ledger, events, variant, limit)


def fills_view(ledger: Ledger, variant: str | None, limit: int, run_id: str = MAIN_RUN) -> list[dict[str, Any]]:
    from runner.readmodels.records import fills

    return _read(ledger, fills, variant, limit, run_id)
