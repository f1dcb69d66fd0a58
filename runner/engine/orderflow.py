"""The order paths beyond one order per intent, mixed into :class:`VariantEngine`.

- ``place_group``: every leg's order row in ONE ledger transaction before any leg is sent,
  so a crash leaves zero or all legs recorded; unbalanced groups block new groups.
- ``requote``: a two-sided quote replaces the working quote of its side (post-only; a
  post-only rejection is a normal event, counted as a skip).
- the maker watchdog: cancel/replace of maker entries, one logical intent id across reprices.
- cashflows: funding and settlement facts in market events booked as fill rows.
Kept apart from ``variant.py`` so that file stays the single-order path.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runner.engine import execution, sending
from runner.engine.client_ids import client_order_id
from runner.errors import FencedError, PrecisionError, RiskBlockError, RunnerError
from runner.kinds.base import REPAIR, Intent, MarketEvent
from runner.kinds.binary import is_binary
from runner.ledger.positions import FLAT_POSITION, PositionState
from runner.ledger.store import NewFill
from venues.base import OrderReport, OrderRequest

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine

ZERO = Decimal(0)


class OrderFlow:
    def _init_orderflow(self: VariantEngine) -> None:
        from runner.engine.cashflows import Cashflows
        from runner.engine.groups import GroupBook
        from runner.engine.kind_stats import KindStats
        from runner.engine.maker import MakerWatch

        self.quotes: dict[str, MarketEvent] = {}  # latest event per instrument: each leg priced from its own
        self.groups = GroupBook()
        self.maker = MakerWatch(self.spec.execution)
        self.cashflows = Cashflows(self.venue.account, self.run_id, self.id)
        self.stats = KindStats(track_inventory=self.spec.kind == "market_making")
        self.booked: list[NewFill] | None = None  # a backtest collects booked cashflows here

    # --- routing ---------------------------------------------------------------------------
    def _route(self: VariantEngine, ev: MarketEvent, intents: list[Intent]) -> list[Intent]:
        """Quotes and groups are placed here; what is left goes down the single-order path."""
        if not self.groups.open_by_instrument:
            for i in intents:
                if i.group is not None or i.purpose == "quote":
                    break
            else:
                return intents  # the common case: nothing to route
        rest: list[Intent] = []
        groups: dict[str, list[Intent]] = {}
        for intent in intents:
            if intent.purpose == "quote":
                self.requote(intent, ev)
            elif intent.group is not None:
                groups.setdefault(intent.group, []).append(intent)
            elif not intent.is_entry and (gid := self.groups.group_for(intent.instrument)):
                rest.append(dataclasses.replace(intent, group=gid))  # a sweep/exit closes its group
            else:
                rest.append(intent)
        for tagged in groups.values():
            self.place_group(tagged, ev)
        return rest

    def _leg_request(self: VariantEngine, intent: Intent, ev: MarketEvent, cid: str, qty: Decimal | None = None
                     ) -> OrderRequest | None:
        inst = self.venue.instrument(intent.instrument)
        if qty is None:
            pos = self.positions.get(intent.instrument, FLAT_POSITION)
            qty = abs(pos.qty) if intent.close else execution.to_decimal(intent.qty or 0.0)
        if qty == 0:
            self._skip("nothing_to_close" if intent.close else "zero_qty")
            return None
        leg_ev = self.quotes.get(intent.instrument)
        if leg_ev is None or leg_ev.ts < ev.ts:  # another leg's quote from an earlier poll: look again
            leg_ev = self._fresh_quote(intent.instrument) or leg_ev or ev
        reduce_only = intent.close or not intent.is_entry
        if reduce_only and self.shares is not None and self.shares(self, intent.instrument):
            req = self._shared_exit(execution.build_request(cid, intent, qty, leg_ev, self.spec.execution, inst, False))
        else:
            req = self.venue.prepare(execution.build_request(cid, intent, qty, leg_ev, self.spec.execution, inst,
                                                             reduce_only))
        if intent.is_entry:
            self._check_risk(req, inst, leg_ev)
        return req

    def _fresh_quote(self: VariantEngine, sym: str) -> MarketEvent | None:
        try:
            b = self.venue.book(sym, depth=1)
        except (RunnerError, KeyError):
            return None
        if b.gap is not None:
            return None
        return MarketEvent(b.ts, sym, b.bids[0][0], b.asks[0][0], (b.bids[0][1],), (b.asks[0][1],), b.volume, b.extra)

    # --- groups ----------------------------------------------------------------------------
    def place_group(self: VariantEngine, intents: list[Intent], ev: MarketEvent) -> list[OrderReport | None]:
        """Write every leg in one transaction, then send the legs one by one."""
        opening = any(i.is_entry for i in intents)
        repair = opening and all(i.purpose == REPAIR for i in intents)  # joins the unbalanced group it mends
        blocked = (self._entry_block(ev.ts, intents[0].instrument)
                   or (None if repair else self.groups.blocking(self.positions))) if opening else None
        if blocked:
            self._skip(blocked)
            return []
        if any(w.req.instrument == i.instrument for w in self.working.values() for i in intents):
            self._skip("order_working")
            return []
        qty = None
        if opening and not repair and len({i.qty for i in intents}) == 1:  # equal legs stay equal after lot flooring
            insts = [self.venue.instrument(i.instrument) for i in intents]
            qty = min(inst.floor_qty(execution.to_decimal(intents[0].qty or 0.0)) for inst in insts)
        reqs: list[tuple[OrderRequest, Intent, int]] = []
        try:
            for n, intent in enumerate(intents):
                cid = client_order_id(self.run_id, self.id, self._seq + n, self.cid_salt)
                req = self._leg_request(intent, ev, cid, qty)
                if req is None:
                    return []
                reqs.append((req, intent, self._seq + n))
        except PrecisionError as exc:
            self._skip("precision")
            self.last_error = str(exc)
            return []
        except RiskBlockError as exc:
            self._skip(f"risk_{exc.limit}")
            self.troubles.append(self._trouble(exc, str(exc)))
            return []
        if self.send_gate is not None and (why := next(filter(None, (self.send_gate(self, r) for r, _i, _s in reqs)), None)):
            self._skip(why)
            return []
        gid = ((self.groups.group_for(intents[0].instrument) if not opening or repair else None)
               or f"g-{reqs[0][0].client_order_id}")
        rows = [self._order_row(req, seq, intent.purpose, gid, None) for req, intent, seq in reqs]
        self.sink.orders(rows)  # one transaction: zero or all legs are in the ledger
        self._seq += len(reqs)
        self.groups.prune()
        for req, _intent, _seq in reqs:
            self.groups.add(gid, opening, req.client_order_id, req.instrument, req.qty)
        return [self._transmit(req, intent.purpose, gid) for req, intent, _seq in reqs]

    def _order_row(self: VariantEngine, req: OrderRequest, seq: int, purpose: str, group: str | None,
                   intent_id: str | None) -> dict[str, Any]:
        return sending.order_row(req, self.run_id, self.id, self.venue.account, seq, purpose, group, intent_id)

    # --- quotes ----------------------------------------------------------------------------
    def requote(self: VariantEngine, intent: Intent, ev: MarketEvent) -> None:
        """Replace this side's working quote; ``qty`` 0 pulls it."""
        cur = next((cid for cid, w in self.working.items() if w.purpose == "quote"
                    and w.req.instrument == intent.instrument and w.req.side.value == intent.side), None)
        if cur is not None:
            w = self.working[cur]
            inst = self.venue.instrument(intent.instrument)
            same = intent.price is not None and w.req.price == inst.round_price(
                execution.to_decimal(intent.price), w.req.side)
            # kept only if it could not fill more than the new quote (the kind caps sizes to its inventory bound)
            if intent.qty and same and w.filled == 0 and w.req.qty <= execution.to_decimal(intent.qty):
                self._skip("quote_unchanged")
                return
            if not self._cancel(cur):
                self._skip("quote_cancel_pending")  # closed on the venue, its fills not read yet
                return
        if not intent.qty:
            self._skip("quote_pulled" if cur is not None else "quote_none")
            return
        blocked = self._entry_block(ev.ts, intent.instrument)
        if blocked:
            self._skip(blocked)
            return
        rep = self.place(intent, ev)
        if rep is not None:
            self.stats.on_quote(rep.client_order_id, rep.qty, self.working)

    def _cancel(self: VariantEngine, cid: str) -> bool:
        w = self.working.get(cid)
        if w is None:
            return True
        try:
            rep = self.cancel(cid, w.req.instrument)
        except FencedError:
            raise  # not ours any more: the runtime lets go of the variant (``contained``)
        except RunnerError as exc:
            self.troubles.append(self._trouble(exc, f"cancel {cid}: {exc}"))
            return False
        if rep is None:
            self.working.pop(cid, None)
            self.sink.order_event(cid, "cancelled", detail="unknown to the venue")
        else:
            self.on_report(rep)
        return cid not in self.working

    # --- maker watchdog --------------------------------------------------------------------
    def _track_maker(self: VariantEngine, intent: Intent, rep: OrderReport | None, ev: MarketEvent) -> None:
        """Follow a maker entry (``execution.is_maker_entry``) while it rests. Its first order's
        client id names the logical intent its reprices keep (``intent_id``, set by ``place``)."""
        if rep is not None and rep.status.is_open:
            self.maker.track(rep.client_order_id, intent, rep.price or execution.to_decimal(ev.mid), rep.qty, ev.ts)

    def _maker_step(self: VariantEngine, ev: MarketEvent) -> None:
        for act in self.maker.decide(ev, set(self.working)):
            mo = act.order
            if act.kind == "give_up":
                self._cancel(mo.cid)
                self._skip("maker_gave_up")
                self.maker.drop(mo)
                continue
            if act.kind == "reprice":
                mo.replacing = True
                if not self._cancel(mo.cid):
                    continue  # closed on the venue, its fills not read yet: replace on a later event
            inst = self.venue.instrument(mo.intent.instrument)
            left = inst.floor_qty(mo.remaining)
            if left <= 0 or inst.is_dust(left, execution.to_decimal(act.price)):
                self.maker.drop(mo)
                continue
            cid = client_order_id(self.run_id, self.id, self._seq, self.cid_salt)
            intent = dataclasses.replace(mo.intent, price=act.price)
            try:
                req = self._leg_request(intent, ev, cid, left)
            except (PrecisionError, RiskBlockError):
                self._skip("maker_gave_up")
                self.maker.drop(mo)
                continue
            if req is None:
                continue
            self._skip("maker_reprice")
            self.maker.replaced(mo, cid, req.price or execution.to_decimal(act.price))
            self.send(req, mo.intent.purpose, mo.intent.group, intent_id=mo.intent_id)

    # --- cashflows and per-leg books ---------------------------------------------------------
    def _on_extra(self: VariantEngine, ev: MarketEvent) -> None:
        if is_binary(ev.extra):
            from runner.engine.cashflows import leg_events

            for leg_ev in leg_events(ev):
                self.quotes[leg_ev.instrument] = leg_ev
                self.marks[leg_ev.instrument] = leg_ev.mid
        for nf in self.cashflows.book(ev, self.positions, self.marks):
            for applied in self.sink.fills([nf]):
                self.on_fill(applied)
                if self.booked is not None:
                    self.booked.append(applied)

    def _after_fill(self: VariantEngine, f: NewFill, old: PositionState, new: PositionState) -> None:
        cid = f.client_order_id or ""
        if cid:
            if self.groups.by_cid:
                self.groups.on_fill(cid, f.qty)
            if self.maker.orders:
                self.maker.on_fill(cid, f.qty)
        self.stats.on_fill(f, old, new)

    def _after_report(self: VariantEngine, rep: OrderReport) -> None:
        if self.groups.by_cid:
            self.groups.on_report(rep.client_order_id, not rep.status.is_open, rep.filled_qty)
        if self.maker.orders:
            self.maker.on_report(rep.client_order_id, rep.filled_qty)

    def take_booked(self: VariantEngine) -> list[NewFill]:
        out = self.booked or []
        self.booked = [] if self.booked is not None else None
        return out

    @staticmethod
    def _trouble(exc: RunnerError, detail: str) -> Any:
        from runner.engine.variant import Trouble

        return Trouble(exc, detail)
