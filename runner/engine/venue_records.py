"""Funding and asset-taken fees booked from the venue's own records (``VenueAdapter.cashflows``).

Where an adapter keeps such records (Hyperliquid ``userFunding``, OKX funding bills, Alpaca
``CFEE``, the sim's funding table) they are what was actually paid, so the runtime books them:
- read at most every ``EVERY_S`` per account, and at once after a market event says a funding
  interval settled (the sim and recorded data announce it);
- each record is split among the variants holding its instrument (pro rata to their ledger
  positions opened before it) and each share is a fill row keyed ``<account>:<record_id>:<variant>``,
  so a record read twice (restarts, overlapping reads) books nothing twice;
- funding: a zero-quantity fill whose fee is minus the share received;
- a fee taken from an asset (Alpaca's crypto fee): a sell of that quantity at its price with a
  fee of the same value, so cash is unchanged, the position shrinks as the venue's did, and the
  fee is counted in the quote.
The engine's own funding from market events is then off for that account (never booked twice).
Settlements stay on the market-event path (Kalshi's ride on its market book).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from runner.ledger.models import MAIN_RUN
from runner.ledger.store import NewFill
from venues.base import CashflowReport, VenueAdapter

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine

EVERY_S = 60.0
CURSOR = "cashflows"
OVERLAP = timedelta(hours=1)  # re-read a little before the cursor: a late record is not lost
ZERO = Decimal(0)


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def keeps_records(ad: VenueAdapter) -> bool:
    return type(ad).cashflows is not VenueAdapter.cashflows


def shares(rec: CashflowReport, engines: Iterable[VariantEngine]) -> list[tuple[VariantEngine, Decimal, Decimal]]:
    """(engine, its position, its fraction) for every engine holding ``rec.instrument`` since before it."""
    held = []
    for eng in engines:
        pos = eng.positions.get(rec.instrument)
        if pos is None or not pos.qty or (pos.opened is not None and _utc(pos.opened) > rec.ts):
            continue
        held.append((eng, pos.qty))
    total = sum((abs(q) for _, q in held), ZERO)
    return [(eng, q, abs(q) / total) for eng, q in held] if total else []


def fills_for(rec: CashflowReport, account: str, engines: Iterable[VariantEngine]) -> list[tuple[NewFill, VariantEngine]]:
    out = []
    for eng, qty, frac in shares(rec, engines):
        key = f"{account}:{rec.record_id}:{eng.id}"
        amount = rec.amount * frac
        mark = Decimal(repr(eng.marks[rec.instrument])) if rec.instrument in eng.marks else eng.positions[
            rec.instrument].avg_price
        if rec.kind == "funding":
            nf = NewFill(key, None, MAIN_RUN, eng.id, account, rec.instrument, "buy" if qty > 0 else "sell",
                         ZERO, mark, -amount, rec.ts, "funding")
        elif rec.kind == "fee" and rec.qty:
            taken = abs(rec.qty) * frac
            price = abs(rec.amount / rec.qty)
            nf = NewFill(key, None, MAIN_RUN, eng.id, account, rec.instrument, "sell" if rec.qty < 0 else "buy",
                         taken, price, taken * price, rec.ts, "fee")
        elif rec.kind == "fee":  # taken in cash: fees only
            nf = NewFill(key, None, MAIN_RUN, eng.id, account, rec.instrument, "buy" if qty > 0 else "sell",
                         ZERO, mark, -amount, rec.ts, "fee")
        else:
            continue
        out.append((nf, eng))
    return out


class VenueRecords:
    """Per account: when records were last read, and whether a settlement asks for a read now."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.due: set[str] = set()
        self.seen: dict[tuple[str, str], float] = {}  # (account, instrument) -> last settlement id

    def settled(self, account: str, instrument: str, settlement_id: float) -> None:
        """A market event names a funding settlement: read the records now if it is a new one."""
        if self.seen.get((account, instrument)) != settlement_id:
            self.seen[(account, instrument)] = settlement_id
            self.due.add(account)

    def book(self, rt_ledger, account: str, ad: VenueAdapter, engines: list[VariantEngine],  # type: ignore[no-untyped-def]
             now: float) -> int:
        """Read and book ``account``'s records when due; the number of fill rows booked."""
        if account not in self.due and now - self.last.get(account, -1e18) < EVERY_S:
            return 0
        self.due.discard(account)
        self.last[account] = now
        cursor = rt_ledger.cursor(account, CURSOR)
        since = datetime.fromisoformat(cursor) - OVERLAP if cursor else None
        recs = ad.cashflows(since)
        batch = [pair for rec in recs for pair in fills_for(rec, account, engines)]
        applied = {nf.fill_key for nf in rt_ledger.apply_fills([nf for nf, _ in batch])} if batch else set()
        for nf, eng in batch:
            if nf.fill_key in applied:
                eng.on_fill(nf)
        if recs:
            rt_ledger.set_cursor(account, max(r.ts for r in recs).isoformat(), CURSOR)
        return len(applied)
