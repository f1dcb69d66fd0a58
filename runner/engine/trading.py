"""One account's trading part of a step: books to the variants, then fills to the ledger.

``trade`` runs on the account's own thread under ``Runtime.run`` (inline under ``step``):
adopt the recorded states, catch up on outcomes a latency-modelling venue decided, hand each
variant its market, read the fills through each variant's own cursor, book the venue's
cashflow records. A venue whose market the runtime steps (the sim with its latency model) gets
one such pass per market step the loop owes (``VenueAdapter.steps_due``), so none goes unseen. Apart from the runtime so the order of these reads is in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from runner.engine.binary_netting import book_netted_pairs, held_markets
from runner.engine.containment import contained
from runner.engine.variant import VariantEngine
from runner.engine.venue_records import keeps_records
from runner.errors import RunnerError, StaleDataError
from runner.kinds.base import MarketEvent
from runner.ledger import fill_cursors
from runner.ledger.models import MAIN_RUN
from runner.ledger.order_states import fill_from_report, fill_key, filled_after
from runner.ledger.store import NewFill
from runner.lifecycle import State
from venues.base import VenueAdapter
from venues.streams.feed import one_fill_pace

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime


class AccountTrading:
    """The trading part of the runtime's step, per account."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def trade(self, account: str) -> None:
        rt = self.rt
        rt.adoption.run_starts(account)  # the venue half of starts queued for this account
        # on an account thread, read the states afresh: the control thread's copy may predate a
        # transition this thread just made, and adopting it would undo that transition in memory
        rt.adoption.adopt_recorded_states(account, fresh=rt.workers is not None)
        ad = rt.adapters.get(account)
        for i in range(ad.steps_due() if ad is not None else 1):  # each market step the loop owes: a pass
            if i:  # with the chores a loop on time runs between steps (a variant warm on one trades the next)
                rt.chores.tend(account, rt.clock())
            self.catch_up(account)
            self.market(account)
            self.fills(account)
        self.book_records(rt.clock(), account)

    def market(self, account: str | None = None) -> None:
        rt = self.rt
        by_account: dict[str, dict[str, list[VariantEngine]]] = {}
        for eng in rt.of(account):
            # a retired variant still holding a binary leg reads its market only for the settlement
            syms = (held_markets({s: p.qty for s, p in eng.positions.items()}) if eng.state is State.RETIRED
                    else eng.spec.instruments)
            for sym in syms:
                by_account.setdefault(eng.venue.account, {}).setdefault(sym, []).append(eng)
        for account, insts in by_account.items():
            ad = rt.adapters[account]
            for sym, engines in insts.items():
                try:
                    book = ad.book(sym)
                except StaleDataError:
                    # the stream is down or stale and REST may not be asked now: a skip, never an
                    # old book, and no lifecycle trouble (nothing was refused, nothing failed here)
                    for eng in engines:
                        eng._skip("stale_data")
                    continue
                except RunnerError as exc:
                    for eng in engines:
                        eng.troubles.append(_trouble(exc, f"market data {sym}: {exc}"))
                    continue
                if book.gap is not None:  # settled or halted: nothing to price, not an error
                    facts = MarketEvent(book.ts, sym, 0.0, 0.0, extra=dict(book.extra)) if book.extra else None
                    for eng in engines:
                        if eng.state is not State.RETIRED:
                            eng._skip(book.gap)
                        if facts is not None:
                            eng._on_extra(facts)  # a settlement still books (read from the venue)
                    continue
                rt.market_ts = book.ts
                if "funding_settled_id" in book.extra:
                    rt.records.settled(account, sym, book.extra["funding_settled_id"])
                live = [e for e in engines if e.state is not State.RETIRED]  # retired: settlements only (above)
                rt.streams.dispatch(account, book, live, rt.chores.warm)  # each engine its stream: bars, quotes, books

    def catch_up(self, account: str) -> None:
        """A venue modelling order latency decided some outcomes since the last step: read them
        and their fills now, before the strategies see the next event (the backtest's order)."""
        rt = self.rt
        ad = rt.adapters.get(account)
        if ad is None:
            return
        try:
            reports = ad.catch_up()
        except RunnerError as exc:
            rt.responder.report_once(account, "catch_up", f"catching up: {exc}", rt.clock())
            return
        if reports is None:
            return
        self.fills(account)
        for rep in reports:
            known = rt.owner.get(rep.client_order_id)
            if known is not None:
                contained(known[0], f"order {rep.client_order_id}", known[0].on_report, rep)

    def fills(self, only: str | None = None) -> None:
        """Each variant reads its account's fills from its own cursor (``fill_cursors``): one
        read per distinct cursor, so another runner on the account never consumes ours."""
        rt = self.rt
        for account, ad in list(rt.adapters.items()):
            if only is not None and account != only:
                continue
            mine = [e.id for e in rt.of(account)]
            groups: dict[str | None, list[str]] = {}
            for vid, cursor in fill_cursors.variant_cursors(rt.ledger, account, mine).items():
                groups.setdefault(cursor, []).append(vid)
            with one_fill_pace():  # one read per cursor, all due together or none
                for cursor, variants in groups.items():
                    self._read_fills(account, ad, cursor, set(variants))

    def _read_fills(self, account: str, ad: VenueAdapter, cursor: str | None, variants: set[str]) -> None:
        rt = self.rt
        try:
            page = ad.fills(cursor)
        except RunnerError as exc:
            rt.responder.report_once(account, "fills", f"reading fills: {exc}", rt.clock())
            return
        if page.fills:  # any variant's, any runner's: the account's holders may have moved
            rt.holders.changed(account)
        batch: list[tuple[NewFill, VariantEngine | None]] = []
        for f in page.fills:
            known = rt.owner.get(f.client_order_id or "")
            if known is not None:
                eng, group = known
                variant = eng.id
            else:
                order = rt.ledger.order_row(f.client_order_id) if f.client_order_id else None
                if order is None:
                    continue  # not ours: reported by reconcile / the orphan audit
                variant, group = order.variant, order.group_id
                eng = rt.engines.get(variant)  # type: ignore[assignment]
            if variant not in variants and (eng is not None or not self._unheld(variant)):
                if eng is None:  # another runner's: it may not have written it yet
                    rt.holders.seen(account, variant, f.instrument, fill_key(account, f.fill_id))
                continue  # read through that variant's own cursor: by us, or by its holder
            nf = fill_from_report(f, account=account, run_id=MAIN_RUN, variant=variant, group=group,
                                  flag=eng.flags.get(f.client_order_id or "") if eng is not None else None)
            batch.append((nf, eng))
        try:
            applied = {nf.fill_key for nf in rt.ledger.apply_fills([nf for nf, _ in batch])}
        except IntegrityError:  # another runner on this ledger applied some at the same moment:
            applied = {nf.fill_key for nf in rt.ledger.apply_fills([nf for nf, _ in batch])}  # now seen
        nets: dict[str, VariantEngine] = {}
        for nf, eng in batch:
            if eng is not None and eng.id != nf.variant:  # an order handed over by `runner promote`
                eng = rt.engines.get(nf.variant)  # type: ignore[assignment]
            if nf.fill_key in applied and eng is not None:
                closed = bool(nf.client_order_id) and nf.client_order_id not in eng.working
                contained(eng, f"fill {nf.fill_key}", eng.on_fill, nf)
                if closed:
                    self._note_late_fill(nf)
                if eng.venue.capabilities.nets_binary_legs:
                    nets[eng.id] = eng
        for eng in nets.values():  # a YES+NO pair the venue netted is paid out there now: book it so
            contained(eng, "netting", book_netted_pairs, eng)  # (no exit of legs the venue no longer holds)
        if page.cursor != cursor:
            fill_cursors.advance(rt.ledger, account, variants, page.cursor)

    def _unheld(self, variant: str) -> bool:
        """Nobody trades ``variant`` (close-dust's pseudo-variant, one let go): whoever reads its
        fill books it (the fill key makes a second booking a no-op)."""
        st = self.rt.ledger.state(variant)
        return st is None or st.owner in (None, self.rt.runner_id)

    def book_records(self, now: float, only: str | None = None) -> None:
        rt = self.rt
        for account, ad in list(rt.adapters.items()):
            if not keeps_records(ad) or (only is not None and account != only):
                continue
            engines = rt.of(account)
            try:
                rt.records.book(rt.ledger, account, ad, engines, now)
                rt.holders.changed(account)  # a settlement read from the records may have closed a holder
            except RunnerError as exc:
                rt.reporter.error(f"{account}: reading the venue's cashflow records: {exc}")

    def _note_late_fill(self, nf: NewFill) -> None:
        """A fill read for an order already recorded closed unfilled (cancelled, rejected): the
        fill stands (it happened; its own time is on the fill) and the order's history says so,
        so its status is not "cancelled" with a position behind it."""
        rt = self.rt
        cid = nf.client_order_id or ""
        status = rt.ledger.order_status(cid)
        if (event := filled_after(status)) is not None:
            rt.sink.order_event(cid, event,
                                detail=f"{nf.side} {nf.qty} @ {nf.price} read after the order was recorded {status}")
            rt.reporter.error(f"{nf.variant}: fill {nf.side} {nf.qty} {nf.instrument} @ {nf.price} on order "
                              f"{cid[:12]} after it was {status}")


def _trouble(exc: RunnerError, detail: str):  # type: ignore[no-untyped-def]
    from runner.engine.variant import Trouble

    return Trouble(exc, detail)
