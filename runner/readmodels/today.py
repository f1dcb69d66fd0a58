"""Each variant's realized PnL booked today (UTC), exact, without folding its whole history.

The average cost at midnight depends on every earlier fill, so the honest answer is a fold of
all fills in id order (as ``runner.ledger.positions.realized_on_day`` does; 100k fills cost
``status`` over a second). The fold's state after a fill id never changes (fills are
append-only), so on a SQLite ledger it is kept as a checkpoint in a cache file beside it
(``state/cache/today.json``) with the PnL it had booked per day from today on: the next call
folds only the fills after it. A checkpoint is used only while the variant still has exactly
the fills it was folded from (their count and last id); otherwise the fold starts over. On
SQLite ids are handed out under the write lock, so every id below a visible one is committed;
on PostgreSQL a lower id can commit later, so there the fold is always the full one. The cache
only saves time: without it the result is the same.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.ledger.positions import PositionState, apply_fill
from runner.ledger.version import MAIN_RUN
from runner.readmodels.db import ReadDB, ts

ZERO = Decimal(0)
FLAT = PositionState()


def realized_today(db: ReadDB, scale: Callable[[str], Decimal], cache: Path | None = None,
                   now: datetime | None = None) -> dict[str, Decimal]:
    """variant -> realized PnL net of fees booked today, in the account's currency (``scale``
    turns an instrument's quote units into it), for the variants that traded today."""
    now = now or datetime.now(UTC)
    day = now.date().isoformat()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if db.dialect == "sqlite":  # every variant with fills has a position row; its checkpoint finds today's
        traded = [v for (v,) in db.rows("SELECT DISTINCT variant FROM positions WHERE run_id = ?", (MAIN_RUN,))]
    else:  # no checkpoints: fold only the variants that traded today
        cache = None
        traded = [v for (v,) in db.rows("SELECT DISTINCT variant FROM fills WHERE run_id = ? AND ts >= ?",
                                        (MAIN_RUN, db.ts_param(midnight)))]
    store = _load(cache, db.url)
    out: dict[str, Decimal] = {}
    for variant in sorted(traded):
        through, count, states, sums = _checkpoint(db, variant, store.get(variant))
        for fid, sym, side, qty, price, fee, when in db.iter(
                "SELECT id, instrument, side, qty, price, fee, ts FROM fills WHERE run_id = ? AND variant = ? "
                "AND id > ? ORDER BY id", (MAIN_RUN, variant, through)):
            old = states.get(sym, FLAT)
            fee_d = Decimal(fee)
            new = apply_fill(old, 1 if side == "buy" else -1, Decimal(qty), Decimal(price), fee_d, None)
            states[sym] = new
            through, count = fid, count + 1
            on = when[:10] if isinstance(when, str) else ts(when).astimezone(UTC).date().isoformat()  # type: ignore[union-attr]
            if on >= day:  # only today's (and a clock's future) sums are worth keeping
                sums[on] = sums.get(on, ZERO) + (new.realized_pnl - old.realized_pnl - fee_d) * scale(sym)
        if day in sums:
            out[variant] = sums[day]
        store[variant] = _entry(through, count, states, {d: v for d, v in sums.items() if d >= day})
    if cache is not None:
        _save(cache, db.url, store)
    return out


def _entry(through: int, count: int, states: dict[str, PositionState], sums: dict[str, Decimal]) -> dict[str, Any]:
    """The fold after fill ``through`` (``count`` fills of the variant up to it) and what it booked per day."""
    return {"through": through, "count": count, "sums": {d: str(v) for d, v in sums.items()},
            "states": {s: [str(p.qty), str(p.avg_price), str(p.realized_pnl), str(p.fees)]
                       for s, p in states.items()}}


def _checkpoint(db: ReadDB, variant: str, entry: dict[str, Any] | None
                ) -> tuple[int, int, dict[str, PositionState], dict[str, Decimal]]:
    """Where to start folding: a checkpoint still true of the ledger, or the beginning."""
    if not entry:
        return 0, 0, {}, {}
    try:
        through, want = int(entry["through"]), int(entry["count"])
        states = {s: PositionState(*(Decimal(x) for x in v)) for s, v in entry["states"].items()}
        sums = {d: Decimal(v) for d, v in entry["sums"].items()}
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
        return 0, 0, {}, {}
    count, last = db.rows("SELECT count(*), max(id) FROM fills WHERE run_id = ? AND variant = ? AND id <= ?",
                          (MAIN_RUN, variant, through))[0]
    if count != want or last != through:
        return 0, 0, {}, {}
    return through, count, states, sums


def _load(cache: Path | None, url: str) -> dict[str, Any]:
    if cache is None:
        return {}
    try:
        doc = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return doc.get("variants", {}) if doc.get("ledger") == url else {}


def _save(cache: Path, url: str, store: dict[str, Any]) -> None:
    try:
        cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".today-")
        with os.fdopen(fd, "w") as f:
            json.dump({"ledger": url, "variants": store}, f)
        os.replace(tmp, cache)  # atomic: two CLI calls at once each write a whole file
    except OSError:
        pass  # a cache that cannot be written only costs the next call its time
