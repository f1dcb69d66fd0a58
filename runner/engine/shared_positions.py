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
is seen here when this runner reads the account's fills, possibly before that runner wrote it to
the ledger: its variant counts as a holder of that instrument for ``MAX_AGE_S`` all the same
(an exit without reduce-only still closes only the variant's own quantity; a reduce-only one the
venue refuses would not close it at all).
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
        # account -> {fill key: (variant, instrument, when read)}: another runner's fills read
        # from the venue and not found in the ledger yet
        self._seen: dict[str, dict[str, tuple[str, str, float]]] = {}

    def changed(self, account: str | None = None) -> None:
        """Something may have moved a position of ``account`` (of every account if None)."""
        if account is None:
            self._snap.clear()
        else:
            self._snap.pop(account, None)

    def seen(self, account: str, variant: str, instrument: str, key: str) -> None:
        """A fill (``key``) of another runner's ``variant`` was read from the venue: it may not be
        in the ledger yet, so the variant holds ``instrument`` until it is, ``MAX_AGE_S`` at most."""
        self._seen.setdefault(account, {})[key] = (variant, instrument, self._clock())
        self.changed(account)

    def of(self, account: str) -> dict[str, frozenset[str]]:
        now = self._clock()
        got = self._snap.get(account)
        seen = self._seen.get(account)  # while another runner's fill is unwritten, read each time
        if got is None or seen or now - got[0] > MAX_AGE_S or now < got[0]:
            if seen:  # those written by now are in the positions read next (one transaction each)
                for key in self._ledger.known_fills(list(seen)):
                    seen.pop(key, None)
            by: dict[str, set[str]] = {}
            for variant, instrument in self._ledger.holders(account):
                by.setdefault(instrument, set()).add(variant)
            got = self._snap[account] = (now, {k: frozenset(v) for k, v in by.items()})
        return got[1]

    def _unwritten(self, account: str, instrument: str) -> list[str]:
        seen = self._seen.get(account)
        if not seen:
            return []
        now = self._clock()
        for key in [k for k, (_v, _i, t) in seen.items() if not 0 <= now - t <= MAX_AGE_S]:
            del seen[key]
        return [v for v, i, _t in seen.values() if i == instrument]

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
        held = (*self.of(account).get(instrument, ()), *self._unwritten(account, instrument))
        return any(v != eng.id and v not in engines for v in held)
