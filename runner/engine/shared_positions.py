"""Two variants on one instrument of one account: the venue holds ONE position for both.

Hyperliquid (and any venue with one position per account and instrument) nets the variants
into a single position, so a reduce-only order is judged against the account's position, not
the variant's: MR long 0.01 BTC while a scalper is short 0.02 leaves the account short 0.01,
and MR's reduce-only sell is refused ("would increase position"), its exit never goes through.
An operator expects each variant's exit to go through, and each variant's fills to move its
own position. So reduce-only is kept only where the variant owns the whole venue position:
while another running variant of the account holds the instrument or has an order working on
it, exits go without the flag (the quantity is still the variant's own position, so the
account ends where the two variants' positions sum to). A close that only a reduce-only order
may send (below the venue's minimum, which it waives for a reduce-only full close) keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine


def checker(engines: Mapping[str, VariantEngine]) -> Callable[[VariantEngine, str], bool]:
    """Whether ``instrument`` of ``eng``'s account is held or worked by another running variant."""

    def shared(eng: VariantEngine, instrument: str) -> bool:
        account = eng.venue.account
        for other in engines.values():
            if other is eng or other.venue.account != account:
                continue
            pos = other.positions.get(instrument)
            if (pos is not None and pos.qty) or any(w.req.instrument == instrument for w in other.working.values()):
                return True
        return False

    return shared
