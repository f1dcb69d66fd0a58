"""How variants come under this runner and follow the ledger: spawning, restoring, adopting.

A live deployment gets an engine when its lease is ours (``adopt_unowned``, failover
included); ``spawn`` builds it and restores what the ledger knows (positions, the day's
fills, opening groups, orders it thinks open, asked of the venue by client id). The part of a
start that calls the venue runs on the account's thread while account threads trade
(``runner.engine.starts``): the control thread never waits on a venue. Transitions
other processes wrote (operator commands, ``runner promote``'s handover) are adopted here too.
Kept apart from the loop so the runtime only says *when* this happens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner.engine.accounts import account_config
from runner.engine.binary_netting import held_markets, restore_netted
from runner.engine.containment import LEDGER_ERRORS
from runner.engine.handover import REASON as HANDOVER
from runner.engine.leases import dead_holder
from runner.engine.sessions import session_checker
from runner.engine.starts import PendingStart, is_slow_note
from runner.engine.variant import VariantEngine
from runner.engine.venue_records import keeps_records
from runner.errors import BadInputError, RunnerError, SpecError, TransientError
from runner.kinds.registry import get_kind
from runner.ledger.models import MAIN_RUN, Deployment
from runner.ledger.order_states import OPEN as OPEN_STATUSES
from runner.ledger.positions import PositionState
from runner.lifecycle import State, Trigger
from runner.spec.load import parse_variant
from runner.spec.venue_fit import capability_issues

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime

STARTING = (State.PENDING, State.WARMING)


class Adoption:
    """The runtime's variants: which it takes, how each engine starts, what it adopts later."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.recorded: dict = {}  # type: ignore[type-arg]  # variant -> state row, read by the control part
        self._retired_checked: set[str] = set()  # retired variants asked whether they await a settlement
        self._handovers: dict[str, int] = {}  # variant -> the handover transition its engine adopted

    def adopt_unowned(self) -> None:
        """Spawn an engine for every live deployment whose lease we can take (failover included)."""
        rt = self.rt
        for dep in rt.ledger.deployments():
            if "@" in dep.variant or dep.variant in rt.engines or rt.starts.holds(dep.variant):
                continue  # trading, or its start waits for its account's thread
            st = rt.ledger.state(dep.variant)
            if st is None or (st.state == State.RETIRED and not self._awaits_settlement(dep.variant)):
                continue
            if not rt.retries.due("start:" + dep.variant, rt.clock()):
                continue  # its venue could not be reached: the next attempt is scheduled
            if not rt.ledger.acquire_lease(dep.variant, rt.runner_id, rt.config.lease_ttl_s,
                                           dead_owner=dead_holder(st.owner)):
                continue  # another live runner trades it
            self.spawn(dep, State(st.state))
            # a spawn connects to the venue and warms up: slow on a loaded machine or a slow venue,
            # and the leases taken before it (this one, and earlier ones of a start) ran down
            # meanwhile; renew them now rather than at the next heartbeat, or they lapse mid-start
            rt.renew_leases()

    def _awaits_settlement(self, variant: str) -> bool:
        """A retired variant still holding a binary leg (abandoned) is picked up again, only to
        book its market's settlement; asked once per variant and runner (retired never trades)."""
        if variant in self._retired_checked:
            return False
        self._retired_checked.add(variant)
        return bool(held_markets({p.instrument: p.qty for p in self.rt.ledger.positions(MAIN_RUN, variant)}))

    def spawn(self, dep: Deployment, state: State) -> None:
        """The control half of a start (its file, its kind); the venue half is queued for the
        account's thread when account threads trade (``rt.starts.enabled``), else runs here."""
        try:
            loaded = parse_variant(dep.yaml_text, Path(dep.path), self.rt.venues)
            kind = get_kind(loaded.spec.kind)
            assert kind is not None
        except LEDGER_ERRORS:
            raise
        except (SpecError, BadInputError, RunnerError, KeyError) as exc:
            self._cannot_start(dep, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a bug: this variant only
            self._cannot_start(dep, RuntimeError(f"{type(exc).__name__}: {exc}"))
            return
        pending = PendingStart(dep, loaded, kind, state)
        if self.rt.starts.enabled:
            self.rt.starts.put(pending)
        else:
            self._start_on_venue(pending, state)

    def run_starts(self, account: str) -> None:
        """On the account's thread: the venue halves of its queued starts, each in the state the
        ledger holds now (the operator may have paused or retired it meanwhile; one abandoned
        while it waited is not started at all)."""
        rt = self.rt
        for pending in rt.starts.take(account):
            try:
                st = rt.ledger.state(pending.variant)
                abandoned = st is not None and st.state == State.RETIRED and pending.state is not State.RETIRED
                if st is not None and not pending.dropped and not abandoned:
                    self._start_on_venue(pending, State(st.state))
            finally:
                rt.starts.done(pending)

    def _start_on_venue(self, pending: PendingStart, state: State) -> None:
        rt = self.rt
        dep, loaded, kind = pending.dep, pending.loaded, pending.kind
        try:
            venue = rt.adapter(loaded.spec.venue)
            if state in STARTING and (unmet := capability_issues(
                    loaded, venue.capabilities, account_config(loaded.spec.venue, rt.venues, rt.home).adapter)):
                raise SpecError(unmet)  # the account cannot trade the kind: it would never act
        except LEDGER_ERRORS:
            raise
        except (SpecError, BadInputError, RunnerError, KeyError) as exc:
            self._cannot_start(dep, exc)
            return
        except Exception as exc:  # noqa: BLE001 - an SDK's own error, a bug: this variant only
            self._cannot_start(dep, RuntimeError(f"{type(exc).__name__}: {exc}"))
            return
        rt.retries.ok("start:" + dep.variant)
        if pending.dropped:
            return  # its lease went to another runner while its venue kept it waiting
        if pending.said and any(is_slow_note(dep.variant, e.message) for e in rt.ledger.spec_errors()):
            rt.ledger.clear_spec_error(dep.path)  # it started: the wait is over
        eng = VariantEngine(
            loaded, kind(loaded.params, loaded.spec.instruments), venue, rt.sink, MAIN_RUN, state,
            rt.ledger.next_seq(MAIN_RUN, dep.variant), session_open=session_checker(loaded.spec.sessions),
            anomaly_tolerance=rt.config.anomaly_tolerance, trips_kept=0,
        )
        eng.cid_salt = rt.cid_salt
        eng.cashflows.funding_from_events = not keeps_records(venue)  # booked from the venue's records
        eng.on_order = rt.on_order
        eng.on_sent = rt.reporter.order  # printed once sent: a console line costs more than the send
        eng.entry_gate = rt.gates.entry_gate
        eng.shares = rt.holders.shared  # exits on a shared venue position
        rt.holders.changed(loaded.spec.venue)
        if loaded.spec.mode == "live":
            eng.send_gate = rt.gates.live_send_gate
        eng.on_fill_cb = rt.reporter.fill
        for p in rt.ledger.positions(MAIN_RUN, dep.variant):
            eng.restore_position(p.instrument, PositionState(p.qty, p.avg_price, p.realized_pnl, p.fees, p.opened))
        history = rt.ledger.fills(MAIN_RUN, dep.variant, limit=None)
        eng.restore_day([(f.instrument, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts)
                         for f in history], rt.clock())
        restore_netted(eng, history)
        self.restore_groups(eng)
        rt.engines[dep.variant] = eng
        note = rt.streams.attach(eng)
        if note:
            rt.reporter.info(f"{dep.variant}: {note}")
        self._reconcile_orders(eng)
        if state is State.PENDING:  # the detail says how warm it starts; None if the operator was first
            rt.life.fire(eng, Trigger.START, "start", f"runner {rt.runner_id}" + (f"; {note}" if note else ""))
        key = rt.streams.keys.get(eng.id)
        if eng.state is State.WARMING and eng.strategy.warm and key is not None and key[0] == "bars":
            # pre-seeded from the venue's candles: active before its first live bar, as in a
            # backtest. Left to the next housekeeping, a bar closing in the same pass as the
            # start was decided on while still warming and its entry refused (a parity
            # divergence). Quote and book kinds keep warming on their first live event.
            rt.chores.warm(eng)

    def _cannot_start(self, dep: Deployment, exc: Exception) -> None:
        """Recorded on its file (``runner status`` shows it) and said once per attempt: a venue
        that cannot be reached is retried with backoff; anything else waits for strategies.d
        to change (a fixed file, a new version) instead of repeating itself."""
        rt = self.rt
        key = "start:" + dep.variant
        n, delay = rt.retries.failed(key, rt.clock(), getattr(exc, "retry_after", None))
        rt.ledger.set_spec_error(dep.path, f"{dep.variant}: cannot start: {exc}")
        if isinstance(exc, TransientError):
            rt.reporter.error(f"{dep.variant}: cannot start (attempt {n}, next in {delay:.0f}s): {exc}")
            return
        rt.retries.state[key].until = float("inf")
        rt.reporter.error(f"{dep.variant}: cannot start: {exc} (retried when strategies.d changes)")

    def restore_groups(self, eng: VariantEngine) -> None:
        """Opening groups whose instruments still hold a position: an unbalanced one must keep
        blocking new groups after a restart, and exits must carry its id."""
        held = {sym for sym, p in eng.positions.items() if p.qty}
        if not held:
            return
        ledger = self.rt.ledger
        rows = ledger.group_legs(MAIN_RUN, eng.id)
        live = {o.group_id for o, _s in rows if o.instrument in held}
        legs = [(o.group_id, o.client_order_id, o.instrument, o.qty, ledger.filled_qty(o.client_order_id),
                 status not in OPEN_STATUSES) for o, status in rows if o.group_id in live]
        eng.groups.restore(legs)  # type: ignore[arg-type]

    def _reconcile_orders(self, eng: VariantEngine) -> None:
        """Orders the ledger thinks are open: ask the venue by client id before trading."""
        from runner.engine.variant import WorkingOrder
        from venues.base import OrderRequest, OrderType, Side, TimeInForce

        rt = self.rt
        for order, status in rt.ledger.orders_with_status(OPEN_STATUSES, MAIN_RUN, eng.id):
            rt.own(order.client_order_id, eng, order.group_id)
            req = OrderRequest(order.client_order_id, order.instrument, Side(order.side), order.qty,
                               OrderType(order.order_type), order.price, TimeInForce(order.tif), order.reduce_only)
            working = WorkingOrder(req, order.purpose, group=order.group_id,
                                   filled=rt.ledger.filled_qty(order.client_order_id))
            try:
                rep = eng.venue.order(order.client_order_id, order.instrument)
            except RunnerError as exc:
                # Unknown until the venue answers: keep it working (no new order on that
                # instrument meanwhile); the status poll looks it up again.
                rt.reporter.error(f"{eng.id}: cannot look up {order.client_order_id} yet: {exc}")
                eng.working[order.client_order_id] = working
                continue
            if rep is None:
                # The crash came between writing the order and the venue taking it.
                rt.sink.order_event(order.client_order_id, "not_sent", detail="not found on the venue after restart")
                continue
            eng.working[order.client_order_id] = working
            if rep.status.value != status:
                eng.on_report(rep)
            elif not rep.status.is_open:
                eng.working.pop(order.client_order_id, None)

    def read_states(self) -> None:
        """The control part's copy of every variant's recorded state, adopted by each account."""
        self.recorded = self.rt.ledger.states()

    def adopt_recorded_states(self, account: str | None = None, fresh: bool = False) -> None:
        """Operator commands arrive as transitions written by another process: adopt them."""
        rt = self.rt
        if account is None:
            self.read_states()
        recorded = rt.ledger.states() if fresh else self.recorded
        for vid, rec in list(recorded.items()):
            eng = rt.engines.get(vid)
            if eng is not None and account is not None and eng.venue.account != account:
                continue  # another account's thread adopts it
            if rec.reason == HANDOVER and self._handovers.get(vid) != rec.last_transition:
                self._take_handover(vid, eng, rec.last_transition)
            if eng is not None and eng.state.value != rec.state:
                old = eng.state
                eng.state = State(rec.state)
                if rec.state == State.ACTIVE and old is State.QUARANTINED:
                    rt.rejections[vid] = 0
                    rt.backoff.pop(vid, None)
                rt.reporter.info(f"{vid} now {rec.state} ({rec.reason}: {rec.detail})")

    def _take_handover(self, vid: str, eng: VariantEngine | None, tid: int) -> None:
        """``runner promote`` moved positions between two variants in the ledger: the engine takes
        them from there, and takes its lease token again (the promote raised it to fence any
        order decided before this). An engine let go meanwhile is picked up again by a rescan."""
        from runner.engine.handover import handed_to, reload

        rt = self.rt
        self._handovers[vid] = tid
        if eng is None:
            rt.rescan = True
            return
        if rt.ledger.acquire_lease(vid, rt.runner_id, rt.config.lease_ttl_s) is None:
            rt.let_go(vid, "lease taken by another runner during a handover")
            return
        eng.fenced = None  # an order the handover's token refused: the token is ours again, nothing was sent
        reload(rt.ledger, eng)
        self.restore_groups(eng)  # a funding pair or YES+NO it took over: exits close it under its id
        for cid, old_id in handed_to(rt.ledger, vid):  # resting exits: NEW tracks, polls and owns them now
            old = rt.engines.get(old_id)
            w = old.working.pop(cid, None) if old is not None else None
            if w is not None:
                eng.working[cid] = w
                rt.own(cid, eng, w.group)
