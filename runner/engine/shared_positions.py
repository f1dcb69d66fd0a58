"""Two variants on one instrument of one account: the venue holds ONE position for both.

Hyperliquid (and any venue with one position per account and instrument) nets the variants
into a single position, so a reduce-only order is judged against the account's position, not
the variant's: MR long 0.01 BTC while a scalper is short 0.02 leaves the account short 0.01,
and MR's reduce-only sell is refused ("would increase position"), its exit never goes through.
An operator expects each variant's exit to go through, and each variant's fills to move its
own position. So reduce-only is kept only where the variant owns the whole venue position:
while another variant holds the instrument on the account, or another running variant of this
runner has an order working on it, exits go without the flag (the quantity is still the
variant's own position, so the account ends where the positions sum to). A close that only a
reduce-only order may send (below the venue's minimum, which it waives for a reduce-only full
close) keeps it.

"Another variant" is every holder the LEDGER knows for the account, not only this runner's:
a variant traded by another runner on the same ledger (PostgreSQL leases), or a retired one
still holding a position, is in the venue position all the same. The ledger is read once per
account and again only after something may have moved it (a fill of the account was read, a
variant was adopted, the venue's cashflow records were booked) or after ``MAX_AGE_S``, never per
tick; this runner's own variants are judged from their live state instead. Another runner's fill
is seen here when this runner reads the account's fills, possibly before that runner wrote it:
``MAX_AGE_S`` bounds how long such a reading stands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine
    from runner.ledger.store import Ledger

MAX_AGE_S = 10.0  # a backstop: another runner's fills on the account are read here too


class Holders:
    """Per account, instrument -> the variants the ledger has not flat on it (cached)."""

    def __init__(self, ledger: Ledger, engines: Mapping[str, VariantEngine], clock: Callable[[], float]) -> None:
        self._ledger, self._engines, self._clock = ledger, engines, clock
        self._snap: dict[str, tuple[float, dict[str, frozenset[str]]]] = {}  # account -> (read at, holders)

    def changed(self, account: str | None = None) -> None:
        """Something may have moved a position of ``account`` (of every account if None)."""
        if account is None:
            self._snap.clear()
        else:
            self._snap.pop(account, None)

    def of(self, account: str) -> dict[str, frozenset[str]]:
        now = self._clock()
        got = self._snap.get(account)
        if got is None or now - got[0] > MAX_AGE_S or now < got[0]:
            by: dict[str, set[str]] = {}
            for variant, instrument in self._ledger.holders(account):
                by.setdefault(instrument, set()).add(variant)
            got = self._snap[account] = (now, {k: frozenset(v) for k, v in by.items()})
        return got[1]

    def shared(self, eng: VariantEngine, instrument: str) -> bool:
        """Whether ``instrument`` of ``eng``'s account is held by another variant (of any runner,
        retired included) or worked by another running variant of this runner."""
        account = eng.venue.account
        engines = self._engines
        for other in list(engines.values()):  # this runner's variants: their live state
            if other is eng or other.venue.account != account:
                continue
            pos = other.positions.get(instrument)
            if (pos is not None and pos.qty) or any(w.req.instrument == instrument for w in other.working.values()):
                return True
        return any(v != eng.id and v not in engines for v in self.of(account).get(instrument, ()))
