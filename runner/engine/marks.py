"""The marks the engines hold (last mid per instrument), as rows for the ledger's ``marks``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from runner.engine.execution import to_decimal
from runner.ledger.marks import Mark

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine


def engine_marks(engines: Iterable[VariantEngine], ts: datetime) -> Iterator[Mark]:
    """One row per (account, instrument) any engine has a mid for (the latest engine wins)."""
    seen: dict[tuple[str, str], Mark] = {}
    for eng in engines:
        insts = eng.venue.instruments()
        for sym, mid in eng.marks.items():
            if mid > 0:
                inst = insts.get(sym)
                seen[(eng.venue.account, sym)] = (eng.venue.account, sym, inst.quote if inst else "USD",
                                                  to_decimal(mid), ts)
    return iter(seen.values())
