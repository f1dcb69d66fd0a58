"""One variant in motion: strategy decisions, lifecycle gating, risk, and its order path.

The same class runs a backtest, a paper session and a live one; what differs is the venue
adapter it is handed and the sink its ledger writes go to. It never abandons a position:
entries need ``active``; exits, stop-loss and time-stop run in every state but ``retired``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from runner.engine import execution, risk, sending
from runner.engine.client_ids import client_order_id
from runner.engine.orderflow import OrderFlow
from runner.engine.roundtrips import TripBook
from runner.engine.sink import ImmediateSink
from runner.errors import (
    PostOnlyRejected,
    PrecisionError,
    RejectedError,
    RiskBlockError,
    RunnerError,
    TransientError,
)
from runner.kinds.base import Intent, MarketEvent, PositionView, Strategy
from runner.ledger.positions import FLAT_POSITION, PositionState, apply_fill, realized_on_day
from runner.ledger.store import NewFill
from runner.lifecycle import ENTRIES_ALLOWED, MANAGES_POSITIONS, State
from runner.money import unit_scale
from runner.spec.load import LoadedVariant
from venues.base import Instrument, OrderReport, OrderRequest, OrderStatus, TimeInForce, VenueAdapter

ZERO = Decimal(0)
TRIPS_KEPT = 1000  # round trips kept in memory for reports; counts cover all of them


@dataclass(slots=True)
class WorkingOrder:
    req: OrderRequest
    purpose: str
    filled: Decimal = ZERO
    group: str | None = None
    done_at: Decimal | None = None  # the venue closed it at this filled size; waiting for fills


@dataclass(slots=True)
class PnlDay:
    day: int = -1  # UTC day number (epoch seconds // 86400)
    realized: Decimal = ZERO  # net of fees, since the start of the UTC day


@dataclass
class Trouble:
    """An error the engine could not absorb: the runtime turns it into a lifecycle trigger."""

    error: RunnerError
    detail: str


class VariantEngine(OrderFlow):
    def __init__(
        self, loaded: LoadedVariant, strategy: Strategy, venue: VenueAdapter, sink: ImmediateSink,
        run_id: str, state: State, next_seq: int, *, variant_key: str | None = None,
        session_open: Callable[[float], bool] | None = None, anomaly_tolerance: float = 0.01,
        trips_kept: int = TRIPS_KEPT,
    ) -> None:
        self.loaded = loaded
        self.spec = loaded.spec
        self.id = variant_key or loaded.id
        self.strategy = strategy
        self.venue = venue
        self.sink = sink
        self.run_id = run_id
        self.cid_salt = ""  # the ledger's client-id salt (paper/live: set by the runtime)
        self.state = state
        self._seq = next_seq
        self.session_open = session_open
        self.anomaly_tolerance = Decimal(repr(anomaly_tolerance))
        self.positions: dict[str, PositionState] = {}
        self.views: dict[str, PositionView] = {}
        self.marks: dict[str, float] = {}
        self.working: dict[str, WorkingOrder] = {}
        self.skips: dict[str, int] = {}
        self.pnl_day = PnlDay()
        # round trips, for a backtest's report (paper and live keep none: the ledger has the fills)
        self.roundtrips = TripBook(trips_kept, self.unit_scale) if trips_kept else None
        self._scales: dict[str, Decimal] = {}
        self.troubles: list[Trouble] = []
        self.anomalies: list[str] = []
        self.flags: dict[str, str] = {}  # client order id -> flag its fills carry (data_anomaly)
        self.guard_reason: str | None = None  # set by global guards: no new entries anywhere
        self.blocked: dict[str, str] = {}  # instrument -> guard (exposure groups)
        self.entry_gate: Callable[[VariantEngine, str], str | None] | None = None  # checked at order time
        # Checked on every order just before its row is written (live gates): a reason refuses it.
        self.send_gate: Callable[[VariantEngine, OrderRequest], str | None] | None = None
        # whether another running variant of the account holds or works an instrument: its exits
        # then go without reduce-only (``runner.engine.shared_positions``); None: never (backtest)
        self.shares: Callable[[VariantEngine, str], bool] | None = None
        self.fenced: str | None = None  # set when the ledger's lease fence refused an order
        self.last_error: str | None = None
        self.now = 0.0  # time of the latest market event (data time in a backtest)
        self.submits_ok = 0  # accepted submissions: a success resets the transient retry count
        # A backtest's venue acknowledges an IOC (status new) and decides it on the next event, in
        # the same batch: the acknowledgement is not written (its outcome always is).
        self.quiet_acks = False
        self.on_order: Callable[[VariantEngine, OrderRequest, str], None] | None = None  # just before the send
        self.on_sent: Callable[[VariantEngine, OrderRequest, str], None] | None = None  # after it (e.g. printing)
        self.on_fill_cb: Callable[[VariantEngine, NewFill], None] | None = None
        # recordings and parity: each decision, with the positions the strategy saw
        self.on_decision: Callable[[MarketEvent, object, dict[str, PositionView]], None] | None = None
        self._init_orderflow()

    # --- market events ---------------------------------------------------------------------
    def on_event(self, ev: MarketEvent) -> None:
        self.now = ev.ts
        if ev.bid > 0:  # a funding-only event has no price
            self.marks[ev.instrument] = (ev.bid + ev.ask) * 0.5
            self.quotes[ev.instrument] = ev
        if ev.extra:
            self._on_extra(ev)
        if self.maker.orders:
            self._maker_step(ev)
        decision = self.strategy.on_event(ev, self.views)
        if self.on_decision is not None:
            self.on_decision(ev, decision, self.views)
        if decision.__class__ is str:
            self.skips[decision] = self.skips.get(decision, 0) + 1  # type: ignore[index]
            return
        self._act(ev, decision)  # type: ignore[arg-type]

    def _skip(self, reason: str) -> None:
        self.skips[reason] = self.skips.get(reason, 0) + 1

    def _act(self, ev: MarketEvent, intents: list[Intent]) -> None:
        if not intents:  # a decision to do nothing still has a reason
            self._skip("no_action")
            return
        if self.state not in MANAGES_POSITIONS:  # backoff manages positions like paused
            self._skip(f"state_{self.state.value}")
            return
        for intent in self._route(ev, intents):
            if self.working and any(w.req.instrument == intent.instrument for w in self.working.values()):
                self._skip("order_working")
                continue
            if intent.is_entry:
                blocked = self._entry_block(ev.ts, intent.instrument)
                if blocked:
                    self._skip(blocked)
                    continue
            self.place(intent, ev)

    def _entry_block(self, ts: float, instrument: str) -> str | None:
        if self.state not in ENTRIES_ALLOWED:
            return f"state_{self.state.value}"
        if self.guard_reason:
            return f"guard_{self.guard_reason}"
        if instrument in self.blocked:
            return f"guard_{self.blocked[instrument]}"
        if self.entry_gate is not None and (gate := self.entry_gate(self, instrument)):
            return f"guard_{gate}"
        if self.session_open is not None and not self.session_open(ts):
            return "outside_session"
        try:
            if not self.venue.is_market_open(instrument):
                return "market_closed"
        except RunnerError as exc:
            self.last_error = str(exc)
            return "market_clock_unavailable"
        return None

    # --- orders ----------------------------------------------------------------------------
    def place(self, intent: Intent, ev: MarketEvent, purpose: str | None = None) -> OrderReport | None:
        inst = self.venue.instrument(intent.instrument)
        if intent.close:
            qty = abs(self.positions.get(intent.instrument, FLAT_POSITION).qty)
            if qty == 0:
                self._skip("nothing_to_close")
                return None
        else:
            qty = execution.to_decimal(intent.qty or 0.0)
        entry = intent.is_entry
        reduce_only = intent.close or not entry
        cid = client_order_id(self.run_id, self.id, self._seq, self.cid_salt)
        style = self.spec.execution
        try:
            if reduce_only and self.shares is not None and self.shares(self, intent.instrument):
                req = self._shared_exit(execution.build_request(cid, intent, qty, ev, style, inst, False))
            else:
                req = self.venue.prepare(execution.build_request(cid, intent, qty, ev, style, inst, reduce_only))
            if entry:
                self._check_risk(req, inst, ev)
        except PrecisionError as exc:
            self._skip("precision")
            self.last_error = str(exc)
            return None
        except RiskBlockError as exc:
            self._skip(f"risk_{exc.limit}")
            self.troubles.append(Trouble(exc, str(exc)))
            return None
        maker = execution.is_maker_entry(intent, style)
        rep = self.send(req, purpose or intent.purpose, intent.group, cid if maker else None)  # the intent id
        if maker:
            self._track_maker(intent, rep, ev)
        return rep

    def _shared_exit(self, req: OrderRequest) -> OrderRequest:
        """An exit on an instrument another variant of the account holds (``shared_positions``):
        without reduce-only, unless only a reduce-only close may go (below the venue's minimum)."""
        try:
            return self.venue.prepare(req)
        except PrecisionError:
            req.reduce_only = True
            return self.venue.prepare(req)

    def _check_risk(self, req: OrderRequest, inst: Instrument, ev: MarketEvent) -> None:
        price = req.price or execution.to_decimal(ev.mid)
        k = self.unit_scale(req.instrument)  # limits are in the account's currency; cents legs convert
        notional = req.qty * price * k
        pos = self.positions.get(req.instrument, FLAT_POSITION)
        after = abs(pos.qty + req.qty * req.side.sign) * price * k
        limit = risk.check_entry(self.spec.risk, notional, after, self.daily_pnl())
        if limit:
            raise RiskBlockError(f"{limit}: entry of {notional:.2f} on {req.instrument} refused", limit=limit)

    def send(self, req: OrderRequest, purpose: str, group: str | None = None,
             intent_id: str | None = None) -> OrderReport | None:
        """Record, then send. The order row is durable before the venue hears of it."""
        if self.send_gate is not None and (why := self.send_gate(self, req)):
            self._skip(why)
            return None
        seq = self._seq
        self._seq += 1
        self.sink.order(self._order_row(req, seq, purpose, group, intent_id))
        return self._transmit(req, purpose, group)

    def _transmit(self, req: OrderRequest, purpose: str, group: str | None = None) -> OrderReport | None:
        """Send an order whose row is already in the ledger."""
        self.working[req.client_order_id] = WorkingOrder(req, purpose, group=group)
        if self.on_order:
            self.on_order(self, req, purpose)
        try:
            return self._submit(req)
        finally:  # whatever the venue answered; nothing here may delay the send
            if self.on_sent:
                self.on_sent(self, req, purpose)

    def _submit(self, req: OrderRequest) -> OrderReport | None:
        rep = sending.submit(self.venue, req, self)  # the outcomes come back through the hooks below
        if rep is None:
            return None
        self.submits_ok += 1
        if not (self.quiet_acks and rep.status is OrderStatus.NEW and req.tif is TimeInForce.IOC and not rep.filled_qty):
            self.on_report(rep)
        return rep

    # --- what each send outcome does to the variant (``runner.engine.sending.SendHooks``) ---
    def send_failed(self, req: OrderRequest, exc: TransientError) -> None:
        self.sink.order_event(req.client_order_id, "send_failed", detail=str(exc))
        self.working.pop(req.client_order_id, None)
        self.last_error = str(exc)
        self.troubles.append(Trouble(exc, f"submit {req.client_order_id}: {exc}"))

    def post_only_rejected(self, req: OrderRequest, exc: PostOnlyRejected) -> None:  # normal, not a trouble
        self.sink.order_event(req.client_order_id, "rejected", detail=exc.reason)
        self.working.pop(req.client_order_id, None)
        self._skip("post_only_rejected")

    def rejected(self, req: OrderRequest, exc: RejectedError) -> None:
        self.sink.order_event(req.client_order_id, "rejected", detail=exc.reason)
        self.working.pop(req.client_order_id, None)
        self.last_error = exc.reason
        self.troubles.append(Trouble(exc, f"{req.client_order_id} rejected: {exc.reason}"))

    def resolve_ambiguous(self, cid: str, instrument: str, why: str) -> OrderReport | None:
        """Find the order by client id before counting anything; never resubmit blindly."""
        rep = sending.look_up(self.venue, self.sink, cid, instrument, why)
        if rep is not None:
            self.on_report(rep)
        return rep

    def on_report(self, rep: OrderReport) -> None:
        w = self.working.get(rep.client_order_id)
        if w is not None and rep.status is OrderStatus.FILLED:
            self._check_filled_qty(w.req, rep.filled_qty)
        # `_value_`, not `.value`: the enum property costs more than the rest of this line
        self.sink.order_event(rep.client_order_id, rep.status._value_, rep.venue_order_id, rep.reason or "")
        if w is not None and not rep.status.is_open:
            if w.filled >= rep.filled_qty:
                self.working.pop(rep.client_order_id, None)
            else:
                w.done_at = rep.filled_qty  # closed on the venue; stays working until its fills arrive
        self._after_report(rep)

    def _check_filled_qty(self, req: OrderRequest, filled: Decimal) -> None:
        """A venue that reports `filled` for a slightly different size: accept and flag.

        Within ``anomaly_tolerance`` the fill stands and the order carries a ``data_anomaly``
        event; beyond it the variant is quarantined (the fill still stands: it happened).
        """
        if filled == req.qty or req.qty == 0:
            return
        diff = abs(filled - req.qty) / req.qty
        msg = f"{req.client_order_id}: venue reports filled {filled} of {req.qty} ({diff:.4%})"
        self.anomalies.append(msg)
        self.flags[req.client_order_id] = "data_anomaly"
        self.sink.order_event(req.client_order_id, "data_anomaly", detail=msg)
        self.sink.flag_fills(req.client_order_id, "data_anomaly")
        if diff > self.anomaly_tolerance:
            from runner.errors import DataAnomalyError

            self.troubles.append(Trouble(DataAnomalyError(msg), f"beyond tolerance: {msg}"))

    def cancel(self, cid: str, instrument: str) -> OrderReport | None:
        """The one way the engine cancels on its venue: the lease is confirmed first (see
        ``ImmediateSink.confirm``; FencedError and nothing is sent), like every order's send."""
        self.sink.confirm(self.id, f"cancel of {cid} not sent")
        return self.venue.cancel(cid, instrument)

    def cancel_all(self) -> None:
        for cid, w in list(self.working.items()):
            rep = self.cancel(cid, w.req.instrument)
            if rep is not None:
                self.on_report(rep)
            else:
                self.working.pop(cid, None)
                self.sink.order_event(cid, "cancelled", detail="unknown to the venue")

    # --- fills and positions ---------------------------------------------------------------
    def on_fill(self, f: NewFill) -> None:
        inst = self.venue.instruments().get(f.instrument)
        old = self.positions.get(f.instrument, FLAT_POSITION)
        new = apply_fill(old, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts)
        self.positions[f.instrument] = new
        self.sink.position(f, new)
        ts = f.ts.timestamp()
        pnl = new.realized_pnl - old.realized_pnl - f.fee
        k = self.unit_scale(f.instrument)
        self._book_pnl(pnl if k == 1 else pnl * k, ts)
        self._update_view(f.instrument, new, inst, f.price, ts if new.opened is f.ts else None)
        self._track_trip(f, old, new, ts, pnl)
        cid = f.client_order_id or ""
        w = self.working.get(cid)
        if w is not None:
            w.filled += f.qty
            if w.done_at is not None and w.filled >= w.done_at:
                del self.working[cid]
            elif w.filled >= w.req.qty:
                del self.working[cid]
                self._check_filled_qty(w.req, w.filled)
                self.sink.order_event(cid, "filled")
        self._after_fill(f, old, new)
        if self.on_fill_cb:
            self.on_fill_cb(self, f)

    def _update_view(self, sym: str, pos: PositionState, inst: Instrument | None, price: Decimal,
                     opened_ts: float | None = None) -> None:
        """``opened_ts``: ``pos.opened`` as epoch seconds, when the caller has it already."""
        if pos.qty == 0 or (inst is not None and inst.is_dust(pos.qty, price)):
            self.views.pop(sym, None)  # dust is invisible to the strategy
            return
        if opened_ts is None and pos.opened is not None:
            opened_ts = pos.opened.timestamp()
        self.views[sym] = PositionView(float(pos.qty), float(pos.avg_price), opened_ts)

    def restore_position(self, sym: str, pos: PositionState) -> None:
        self.positions[sym] = pos
        inst = self.venue.instruments().get(sym)
        self._update_view(sym, pos, inst, pos.avg_price)

    def restore_day(self, fills: list[tuple[str, int, Decimal, Decimal, Decimal, datetime]], now: float) -> None:
        """Rebuild today's realized PnL (net of fees) from the ledger's fills after a restart."""
        self.now = now
        today = datetime.fromtimestamp(now, UTC).date().isoformat()
        self.pnl_day = PnlDay(int(now // 86400), realized_on_day(fills, today, self.unit_scale))

    def _book_pnl(self, delta: Decimal, ts: float) -> None:
        day = int(ts // 86400)
        if day != self.pnl_day.day:
            self.pnl_day = PnlDay(day)
        self.pnl_day.realized += delta

    def daily_pnl(self) -> Decimal:
        """Realized (net of fees) since the start of the UTC day of the latest event, plus open PnL,
        in the account's currency (a Kalshi leg's cents are never added to dollars)."""
        realized = self.pnl_day.realized if self.pnl_day.day == int(self.now // 86400) else ZERO
        return realized + self.unrealized()

    def unrealized(self) -> Decimal:
        """Open PnL at the last mid, in the account's currency."""
        total = ZERO
        for sym, pos in self.positions.items():
            if pos.qty and sym in self.marks:
                total += (execution.to_decimal(self.marks[sym]) - pos.avg_price) * pos.qty * self.unit_scale(sym)
        return total

    def realized(self) -> Decimal:
        """Realized PnL net of fees (and funding), in the account's currency."""
        return sum(((p.realized_pnl - p.fees) * self.unit_scale(s) for s, p in self.positions.items()), ZERO)

    def _track_trip(self, f: NewFill, old: PositionState, new: PositionState, ts: float, pnl: Decimal) -> None:
        """``ts``: the fill's time in epoch seconds; ``pnl``: what it realized, net of its fee."""
        if self.roundtrips is not None:
            self.roundtrips.on_fill(f, old, new, ts)

    def unit_scale(self, sym: str) -> Decimal:
        """Account-currency value of one quote unit of ``sym`` (0.01 for a cents-quoted leg)."""
        k = self._scales.get(sym)
        if k is None:
            inst = self.venue.instruments().get(sym)
            if inst is None:
                return Decimal(1)  # not listed (yet): asked again once it is
            k = self._scales[sym] = unit_scale(inst.quote)
        return k

    # --- housekeeping ----------------------------------------------------------------------
    def take_skips(self) -> dict[str, int]:
        out, self.skips = self.skips, {}
        for name, n in self.strategy.take_flags().items():  # acted, but worth auditing (e.g. a clamp)
            out[f"flag_{name}"] = out.get(f"flag_{name}", 0) + n
        return out

    def is_flat(self) -> bool:
        """Flat except dust, with nothing working: what `retired` requires."""
        for sym, pos in self.positions.items():
            if pos.qty == 0:
                continue
            inst = self.venue.instruments().get(sym)
            mark = execution.to_decimal(self.marks.get(sym, float(pos.avg_price)))
            if inst is None or not inst.is_dust(pos.qty, mark):
                return False
        return not self.working
