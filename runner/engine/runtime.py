"""The running runner: deploys, restores, trades, and obeys the ledger.

The step has a control part (leases, operator transitions written by other processes,
deploys, audits, heartbeat) and a trading part per account (books, the variants' decisions
and orders, fills, troubles turned into lifecycle triggers, open-order polls, retires).
``step()`` runs both inline; ``run()`` gives each account its own thread
(``runner.engine.account_workers``) so a slow or hanging venue stalls only its own variants.
Every decision lands in the ledger first.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from runner.engine.account_workers import STOP_TIMEOUT_S, AccountWorkers, Wake, each_at_once
from runner.engine.accounts import account_config
from runner.engine.binary_netting import book_netted_pairs, held_markets
from runner.engine.containment import LEDGER_ERRORS, LedgerOutage, contained
from runner.engine.deploy import FileRead, scan
from runner.engine.guards import Guards
from runner.engine.handover import REASON as HANDOVER
from runner.engine.leases import dead_holder
from runner.engine.lifecycle_driver import LifecycleDriver, transition
from runner.engine.live_gates import REASON as LIVE_GATE
from runner.engine.live_gates import VenuesFile, missing_gates, refusal
from runner.engine.marks import engine_marks
from runner.engine.report import Reporter, configured_secrets
from runner.engine.retries import Backoff, Retries
from runner.engine.sessions import session_checker
from runner.engine.sink import ImmediateSink
from runner.engine.stream_events import StreamBoard, record_stream_events
from runner.engine.streams import EngineStreams
from runner.engine.variant import VariantEngine
from runner.engine.venue_records import VenueRecords, keeps_records
from runner.engine.warming import WarmingBoard
from runner.errors import (
    BadInputError,
    ErrorClass,
    FencedError,
    RefusedError,
    RunnerError,
    SpecError,
    StaleDataError,
    TransientError,
)
from runner.kinds.base import Intent, MarketEvent
from runner.kinds.registry import get_kind
from runner.ledger import fill_cursors
from runner.ledger.identity import client_id_salt
from runner.ledger.instruments import record_instruments
from runner.ledger.marks import record_marks
from runner.ledger.models import MAIN_RUN, Deployment
from runner.ledger.order_states import OPEN as OPEN_STATUSES
from runner.ledger.order_states import fill_from_report, filled_after
from runner.ledger.positions import PositionState
from runner.ledger.store import Ledger, NewFill, is_in_memory
from runner.ledger.streams import prune_events
from runner.ledger.types import from_epoch
from runner.lifecycle import Action, State, Trigger, allowed, pause_requested, respond
from runner.privacy import mask_text, mask_url
from runner.spec.deployment_config import RunnerConfig, VenuesConfig
from runner.spec.load import parse_variant
from runner.spec.venue_fit import capability_issues
from venues.base import OrderRequest, OrderStatus, VenueAdapter
from venues.registry import create_adapter

UNSEEN_LOOKS = 3  # status polls run every 2 s
JOIN_S = 5.0  # when run() returns, how long an account thread inside a venue call is waited for


OWNER_CACHE = 4096  # orders whose owner is kept in memory (older: looked up in the ledger)


_STARTING = (State.PENDING, State.WARMING)


class Runtime:
    def __init__(self, home: Path, ledger: Ledger, venues: VenuesConfig, config: RunnerConfig,
                 reporter: Reporter | None = None, clock: Callable[[], float] = time.time) -> None:
        self.home = home
        self.ledger = ledger
        self.venues = venues
        self.config = config
        self.reporter = reporter or Reporter(quiet=True)
        self.reporter.secrets = configured_secrets(venues, ledger.url)  # never printed, whatever the message
        self.clock = clock
        self.runner_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.sink = ImmediateSink(ledger)
        self.life = LifecycleDriver(ledger, after=self.reporter.transition)
        self.adapters: dict[str, VenueAdapter] = {}
        self.engines: dict[str, VariantEngine] = {}
        self.owner: dict[str, tuple[VariantEngine, str | None]] = {}  # client order id -> (engine, group)
        self.backoff: dict[str, Backoff] = {}
        self.rejections: dict[str, int] = {}
        # retiring and starting keep trying when the venue cannot be reached, one line per attempt
        self.retries = Retries(config.backoff.base_s, config.backoff.cap_s)
        self.reported: dict[tuple[str, str], float] = {}  # (variant, error class) -> last console line
        self.unseen: dict[str, int] = {}  # client id -> lookups that did not find it
        self.rescan = True
        self.pending_files: dict[Path, FileRead] | None = None
        self._last = {"status": 0.0, "skips": 0.0, "equity": 0.0, "heartbeat": 0.0, "summary": 0.0, "guards": 0.0}
        self.guards = Guards(ledger, config.guards, home)
        self.venues_file = VenuesFile(home)
        self.market_ts: float | None = None
        self.cid_salt = client_id_salt(ledger)  # every client order id of this ledger carries it
        self.records = VenueRecords()  # funding and asset-taken fees from the venues' own records
        self._retired_checked: set[str] = set()  # retired variants asked whether they await a settlement
        self.streams = EngineStreams()  # what each variant is handed: its declared stream, warmed up
        self.warming = WarmingBoard(home)  # `warming n/W` for runner status
        self.audit_schedule = None  # runner.audit.schedule.AuditSchedule, attached by `runner run`
        self.workers: AccountWorkers | None = None  # one trading thread per account while run() runs
        self._recorded: dict = {}  # type: ignore[type-arg]  # variant -> state row, read by the control part
        self._account_last: dict[tuple[str, str], float] = {}  # (account, chore) -> last time done
        self._cancel_entries: set[str] = set()  # accounts whose resting entries must come off (blackout)
        self.board = StreamBoard()  # each account's stream state, published every second
        self._handovers: dict[str, int] = {}  # variant -> the handover transition its engine adopted

    # --- start ---------------------------------------------------------------------------
    def start(self) -> None:
        from runner.marketdata.recorder import Recorder, prune

        root = self.home / "state" / "recordings"
        prune(root, self.config.recordings_keep_days)
        if self.config.record:
            self.streams.recorder = Recorder(root)  # this session's events and decisions, as backtest files
        self.ledger.ensure_run(MAIN_RUN, "main")
        self.deploy()
        self.reporter.info(f"runner {self.runner_id} up: {len(self.engines)} variant(s), ledger {mask_url(self.ledger.url)}")

    def offer_files(self, files: dict[Path, FileRead]) -> None:
        """Variant files read and validated off the loop (the watcher's thread): applied next step."""
        self.pending_files = files

    def deploy(self, files: dict[Path, FileRead] | None = None) -> None:
        """Scan strategies.d, then make sure every live deployment has an engine."""
        self.rescan = False
        self.retries.forget_blocked()  # a changed strategies.d may have fixed what could not start
        result = scan(self.home / "strategies.d", self.ledger, self.venues, files)
        for file, message in result.errors.items():
            self.reporter.error(message if message.startswith(file) else f"{file}: {message}")
        self._adopt_unowned()
        for vid, why in result.retire:
            eng = self.engines.get(vid)
            if eng is not None and eng.state not in (State.RETIRING, State.RETIRED):
                self.life.fire(eng, Trigger.RETIRE, "retire", why)
            elif eng is None and (st := self.ledger.state(vid)) is not None and allowed(st.state, Trigger.RETIRE):
                # not started (its venue cannot be reached): retire it in the ledger all the same
                try:
                    transition(self.ledger, vid, st.state, Trigger.RETIRE, "retire", why, "system")
                except (RefusedError, FencedError) as exc:
                    self.reporter.error(f"{vid}: cannot retire: {exc}")

    def _adopt_unowned(self) -> None:
        """Spawn an engine for every live deployment whose lease we can take (failover included)."""
        for dep in self.ledger.deployments():
            if "@" in dep.variant or dep.variant in self.engines:
                continue
            st = self.ledger.state(dep.variant)
            if st is None or (st.state == State.RETIRED and not self._awaits_settlement(dep.variant)):
                continue
            if not self.retries.due("start:" + dep.variant, self.clock()):
                continue  # its venue could not be reached: the next attempt is scheduled
            if not self.ledger.acquire_lease(dep.variant, self.runner_id, self.config.lease_ttl_s,
                                             dead_owner=dead_holder(st.owner)):
                continue  # another live runner trades it
            self._spawn(dep, State(st.state))

    def _awaits_settlement(self, variant: str) -> bool:
        """A retired variant still holding a binary leg (abandoned) is picked up again, only to
        book its market's settlement; asked once per variant and runner (retired never trades)."""
        if variant in self._retired_checked:
            return False
        self._retired_checked.add(variant)
        return bool(held_markets({p.instrument: p.qty for p in self.ledger.positions(MAIN_RUN, variant)}))

    def _renew_leases(self) -> None:
        held = self.ledger.renew_leases(self.runner_id, list(self.engines), self.config.lease_ttl_s)
        for vid in [v for v in self.engines if v not in held]:
            self._let_go(vid, "lease lost to another runner")

    def _let_go(self, vid: str, why: str) -> None:
        eng = self.engines.pop(vid)
        self.reporter.error(f"{vid}: {why}; this runner stops trading it")
        for cid in [c for c, (e, _g) in self.owner.items() if e is eng]:
            del self.owner[cid]

    def adapter(self, account: str) -> VenueAdapter:
        if account not in self.adapters:
            ad = create_adapter(account_config(account, self.venues, self.home))
            ad.connect()
            try:
                record_instruments(self.ledger, account, ad.instruments())
            except IntegrityError:  # another runner on this ledger recorded them at the same moment
                record_instruments(self.ledger, account, ad.instruments())
            self.adapters[account] = ad
        return self.adapters[account]

    def _spawn(self, dep: Deployment, state: State) -> None:
        try:
            loaded = parse_variant(dep.yaml_text, Path(dep.path), self.venues)
            kind = get_kind(loaded.spec.kind)
            assert kind is not None
            venue = self.adapter(loaded.spec.venue)
            if state in _STARTING and (unmet := capability_issues(
                    loaded, venue.capabilities, account_config(loaded.spec.venue, self.venues, self.home).adapter)):
                raise SpecError(unmet)  # the account cannot trade the kind: it would never act
        except LEDGER_ERRORS:
            raise
        except (SpecError, BadInputError, RunnerError, KeyError) as exc:
            self._cannot_start(dep, exc)
            return
        except Exception as exc:  # noqa: BLE001 - an SDK's own error, a bug: this variant only
            self._cannot_start(dep, RuntimeError(f"{type(exc).__name__}: {exc}"))
            return
        self.retries.ok("start:" + dep.variant)
        eng = VariantEngine(
            loaded, kind(loaded.params, loaded.spec.instruments), venue, self.sink, MAIN_RUN, state,
            self.ledger.next_seq(MAIN_RUN, dep.variant), session_open=session_checker(loaded.spec.sessions),
            anomaly_tolerance=self.config.anomaly_tolerance, trips_kept=0,
        )
        eng.cid_salt = self.cid_salt
        eng.cashflows.funding_from_events = not keeps_records(venue)  # booked from the venue's records
        eng.on_order = self._on_order
        eng.on_sent = self.reporter.order  # printed once sent: a console line costs more than the send
        eng.entry_gate = self._entry_gate
        if loaded.spec.mode == "live":
            eng.send_gate = self._live_send_gate
        eng.on_fill_cb = self.reporter.fill
        for p in self.ledger.positions(MAIN_RUN, dep.variant):
            eng.restore_position(p.instrument, PositionState(p.qty, p.avg_price, p.realized_pnl, p.fees, p.opened))
        history = self.ledger.fills(MAIN_RUN, dep.variant, limit=None)
        eng.restore_day([(f.instrument, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts)
                         for f in history], self.clock())
        self._restore_groups(eng)
        self.engines[dep.variant] = eng
        note = self.streams.attach(eng)
        if note:
            self.reporter.info(f"{dep.variant}: {note}")
        self._reconcile_orders(eng)
        if state is State.PENDING:  # the detail says how warm it starts; None if the operator was first
            self.life.fire(eng, Trigger.START, "start", f"runner {self.runner_id}" + (f"; {note}" if note else ""))

    def _cannot_start(self, dep: Deployment, exc: Exception) -> None:
        """Recorded on its file (``runner status`` shows it) and said once per attempt: a venue
        that cannot be reached is retried with backoff; anything else waits for strategies.d
        to change (a fixed file, a new version) instead of repeating itself."""
        key = "start:" + dep.variant
        n, delay = self.retries.failed(key, self.clock(), getattr(exc, "retry_after", None))
        self.ledger.set_spec_error(dep.path, f"{dep.variant}: cannot start: {exc}")
        if isinstance(exc, TransientError):
            self.reporter.error(f"{dep.variant}: cannot start (attempt {n}, next in {delay:.0f}s): {exc}")
            return
        self.retries.state[key].until = float("inf")
        self.reporter.error(f"{dep.variant}: cannot start: {exc} (retried when strategies.d changes)")

    def _restore_groups(self, eng: VariantEngine) -> None:
        """Opening groups whose instruments still hold a position: an unbalanced one must keep
        blocking new groups after a restart, and exits must carry its id."""
        held = {sym for sym, p in eng.positions.items() if p.qty}
        if not held:
            return
        rows = self.ledger.group_legs(MAIN_RUN, eng.id)
        live = {o.group_id for o, _s in rows if o.instrument in held}
        legs = [(o.group_id, o.client_order_id, o.instrument, o.qty, self.ledger.filled_qty(o.client_order_id),
                 status not in OPEN_STATUSES) for o, status in rows if o.group_id in live]
        eng.groups.restore(legs)  # type: ignore[arg-type]

    def _on_order(self, eng: VariantEngine, req, purpose: str) -> None:  # type: ignore[no-untyped-def]
        w = eng.working.get(req.client_order_id)
        self._own(req.client_order_id, eng, w.group if w else None)
        feed = getattr(eng.venue, "feed", None)
        if feed is not None:
            feed.order_sent()  # its fills are read on the next step, not at the next poll

    def _own(self, cid: str, eng: VariantEngine, group: str | None) -> None:
        """Remember who placed an order (and its group) for the fills to come. A cache of the
        latest orders only: a fill for anything older is routed through the ledger's order row."""
        self.owner[cid] = (eng, group)
        if len(self.owner) > OWNER_CACHE:
            for old in list(self.owner)[: OWNER_CACHE // 4]:
                self.owner.pop(old, None)  # another account's thread may have dropped it

    def _reconcile_orders(self, eng: VariantEngine) -> None:
        """Orders the ledger thinks are open: ask the venue by client id before trading."""
        from runner.engine.variant import WorkingOrder
        from venues.base import OrderRequest, OrderType, Side, TimeInForce

        for order, status in self.ledger.orders_with_status(OPEN_STATUSES, MAIN_RUN, eng.id):
            self._own(order.client_order_id, eng, order.group_id)
            req = OrderRequest(order.client_order_id, order.instrument, Side(order.side), order.qty,
                               OrderType(order.order_type), order.price, TimeInForce(order.tif), order.reduce_only)
            working = WorkingOrder(req, order.purpose, group=order.group_id,
                                   filled=self.ledger.filled_qty(order.client_order_id))
            try:
                rep = eng.venue.order(order.client_order_id, order.instrument)
            except RunnerError as exc:
                # Unknown until the venue answers: keep it working (no new order on that
                # instrument meanwhile); the status poll looks it up again.
                self.reporter.error(f"{eng.id}: cannot look up {order.client_order_id} yet: {exc}")
                eng.working[order.client_order_id] = working
                continue
            if rep is None:
                # The crash came between writing the order and the venue taking it.
                self.sink.order_event(order.client_order_id, "not_sent", detail="not found on the venue after restart")
                continue
            eng.working[order.client_order_id] = working
            if rep.status.value != status:
                eng.on_report(rep)
            elif not rep.status.is_open:
                eng.working.pop(order.client_order_id, None)

    # --- the loop ------------------------------------------------------------------------
    def run(self, duration: float | None = None, should_stop: Callable[[], bool] = lambda: False,
            concurrent: bool | None = None) -> None:
        """Until stopped: the control part here, each account's trading part on its own thread
        (``concurrent``; not for an in-memory ledger, whose connection is per thread)."""
        end = None if duration is None else time.monotonic() + duration
        outage = LedgerOutage()
        if concurrent is None:
            concurrent = not is_in_memory(self.ledger.url)
        if concurrent and self.workers is None:
            self.workers = AccountWorkers(self._account_step, self.config.loop_interval_s, self.reporter.error,
                                          wake=self._stream_wake)
        try:
            self._loop(end, outage, should_stop)
        finally:
            if self.workers is not None:  # run() returns with no account thread trading
                for account in self.workers.stop(clean=False, timeout=JOIN_S):
                    self.reporter.error(f"{account}: its trading thread is still inside a venue call; "
                                        "left to finish on its own")
                self.workers = None

    def _loop(self, end: float | None, outage: LedgerOutage, should_stop: Callable[[], bool]) -> None:
        while not should_stop() and (end is None or time.monotonic() < end):
            t0 = time.monotonic()
            try:
                self.step() if self.workers is None else self._control_step()
            except LEDGER_ERRORS as exc:
                # Database restart, lost connection, full disk: no order goes out without its row,
                # so trading waits; the loop retries with backoff and never dies of it.
                delay = outage.failed()
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self.reporter.error(f"ledger unavailable (attempt {outage.attempts}): {mask_text(first)}; "
                                    f"no orders until it answers; retrying in {delay:.1f}s")
                _sleep_until(time.monotonic() + delay, should_stop)
                continue
            if outage.recovered():
                self.reporter.info("ledger reachable again: trading resumes")
            time.sleep(max(0.0, self.config.loop_interval_s - (time.monotonic() - t0)))

    def step(self) -> None:
        """One whole step inline, every account in turn (tests, replay)."""
        now = self.clock()
        self._control(now)
        accounts = self._accounts()
        for account in accounts:
            self._trade(account)
        self._let_go_fenced()
        if self.audit_schedule is not None:
            self.audit_schedule.tick()  # here, between fill reads: audits see no half-applied state
        for account in accounts:
            self._tend(account, now)
        self._periodic(now)

    def _control_step(self) -> None:
        """The main thread's part while account threads trade (``run``)."""
        now = self.clock()
        self._control(now)
        assert self.workers is not None
        self.workers.ensure(self._accounts())
        self._let_go_fenced()
        if self.audit_schedule is not None:
            self.audit_schedule.tick()
        self._periodic(now)

    def _stream_wake(self, account: str) -> Wake | None:
        """An account whose stream is live wakes its thread with each new book (see account_workers)."""
        feed = getattr(self.adapters.get(account), "feed", None)
        conn = feed.connection if feed is not None and feed.enabled else None
        if conn is None or not conn.is_live():
            return None
        cache = feed.cache  # type: ignore[union-attr]
        return Wake(lambda: cache.version, lambda seen, t: cache.wait(lambda: cache.version != seen, t))

    def _account_step(self, account: str) -> None:
        """An account thread's step: its books, decisions, orders and fills, then its chores."""
        self._trade(account)
        self._tend(account, self.clock())

    def _control(self, now: float) -> None:
        if self.ledger.fences and min(f.valid_until for f in self.ledger.fences.values()) <= time.monotonic():
            self._renew_leases()  # stalled past a lease (SIGSTOP, GC, partition): find out before acting
        self._recorded = self.ledger.states()  # operator transitions; each account adopts its own
        if self.pending_files is not None:
            files, self.pending_files = self.pending_files, None
            self.deploy(files)
        elif self.rescan:
            self.deploy()

    def _accounts(self) -> list[str]:
        return sorted({e.venue.account for e in list(self.engines.values())})

    def _of(self, account: str | None) -> list[VariantEngine]:
        """The engines of ``account`` (all for None), as a list: other threads add and remove."""
        return [e for e in list(self.engines.values()) if account is None or e.venue.account == account]

    def _let_go_fenced(self) -> None:
        for vid in [v for v, e in list(self.engines.items()) if e.fenced]:
            if vid in self.engines:
                self._let_go(vid, f"order refused by the lease fence ({self.engines[vid].fenced})")

    def _trade(self, account: str) -> None:
        # on an account thread, read the states afresh: the control thread's copy may predate a
        # transition this thread just made, and adopting it would undo that transition in memory
        self._adopt_recorded_states(account, fresh=self.workers is not None)
        self._catch_up(account)
        self._market(account)
        self._fills(account)
        self._book_records(self.clock(), account)

    def _tend(self, account: str, now: float) -> None:
        """An account's chores: lifecycle, cancels a guard asked for, order polls, position sync,
        and what its stream reported."""
        self._housekeeping(now, account)
        if account in self._cancel_entries:
            self._cancel_entries.discard(account)
            self._cancel_resting_entries(account)
        if self._due(account, "status", now, 2.0):
            self._poll_open_orders(account)
        if self._due(account, "positions", now, 1.0):
            self._sync_positions(account)
        ad = self.adapters.get(account)
        if ad is not None and (events := ad.stream_events()):
            self.board.saw(events)
            record_stream_events(self.ledger, events)

    def _due(self, account: str, chore: str, now: float, every_s: float) -> bool:
        key = (account, chore)
        if now - self._account_last.get(key, 0.0) < every_s:
            return False
        self._account_last[key] = now
        return True

    def _adopt_recorded_states(self, account: str | None = None, fresh: bool = False) -> None:
        """Operator commands arrive as transitions written by another process: adopt them."""
        if account is None:
            self._recorded = self.ledger.states()
        recorded = self.ledger.states() if fresh else self._recorded
        for vid, rec in list(recorded.items()):
            eng = self.engines.get(vid)
            if eng is not None and account is not None and eng.venue.account != account:
                continue  # another account's thread adopts it
            if rec.reason == HANDOVER and self._handovers.get(vid) != rec.last_transition:
                self._take_handover(vid, eng, rec.last_transition)
            if eng is not None and eng.state.value != rec.state:
                old = eng.state
                eng.state = State(rec.state)
                if rec.state == State.ACTIVE and old is State.QUARANTINED:
                    self.rejections[vid] = 0
                    self.backoff.pop(vid, None)
                self.reporter.info(f"{vid} now {rec.state} ({rec.reason}: {rec.detail})")

    def _take_handover(self, vid: str, eng: VariantEngine | None, tid: int) -> None:
        """``runner promote`` moved positions between two variants in the ledger: the engine takes
        them from there, and takes its lease token again (the promote raised it to fence any
        order decided before this). An engine let go meanwhile is picked up again by a rescan."""
        from runner.engine.handover import handed_to, reload

        self._handovers[vid] = tid
        if eng is None:
            self.rescan = True
            return
        if self.ledger.acquire_lease(vid, self.runner_id, self.config.lease_ttl_s) is None:
            self._let_go(vid, "lease taken by another runner during a handover")
            return
        eng.fenced = None  # an order the handover's token refused: the token is ours again, nothing was sent
        reload(self.ledger, eng)
        self._restore_groups(eng)  # a funding pair or YES+NO it took over: exits close it under its id
        for cid, old_id in handed_to(self.ledger, vid):  # resting exits: NEW tracks, polls and owns them now
            old = self.engines.get(old_id)
            w = old.working.pop(cid, None) if old is not None else None
            if w is not None:
                eng.working[cid] = w
                self._own(cid, eng, w.group)

    def _market(self, account: str | None = None) -> None:
        by_account: dict[str, dict[str, list[VariantEngine]]] = {}
        for eng in self._of(account):
            # a retired variant still holding a binary leg reads its market only for the settlement
            syms = (held_markets({s: p.qty for s, p in eng.positions.items()}) if eng.state is State.RETIRED
                    else eng.spec.instruments)
            for sym in syms:
                by_account.setdefault(eng.venue.account, {}).setdefault(sym, []).append(eng)
        for account, insts in by_account.items():
            ad = self.adapters[account]
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
                self.market_ts = book.ts
                if "funding_settled_id" in book.extra:
                    self.records.settled(account, sym, book.extra["funding_settled_id"])
                live = [e for e in engines if e.state is not State.RETIRED]  # retired: settlements only (above)
                self.streams.dispatch(account, book, live)  # each engine its stream: bars, quotes, books

    def _catch_up(self, account: str) -> None:
        """A venue modelling order latency decided some outcomes since the last step: read them
        and their fills now, before the strategies see the next event (the backtest's order)."""
        ad = self.adapters.get(account)
        if ad is None:
            return
        try:
            reports = ad.catch_up()
        except RunnerError as exc:
            self._report_once(account, "catch_up", f"catching up: {exc}", self.clock())
            return
        if reports is None:
            return
        self._fills(account)
        for rep in reports:
            known = self.owner.get(rep.client_order_id)
            if known is not None:
                contained(known[0], f"order {rep.client_order_id}", known[0].on_report, rep)

    def _fills(self, only: str | None = None) -> None:
        """Each variant reads its account's fills from its own cursor (``fill_cursors``): one
        read per distinct cursor, so another runner on the account never consumes ours."""
        for account, ad in list(self.adapters.items()):
            if only is not None and account != only:
                continue
            mine = [e.id for e in self._of(account)]
            groups: dict[str | None, list[str]] = {}
            for vid, cursor in fill_cursors.variant_cursors(self.ledger, account, mine).items():
                groups.setdefault(cursor, []).append(vid)
            for cursor, variants in groups.items():
                self._read_fills(account, ad, cursor, set(variants))

    def _read_fills(self, account: str, ad: VenueAdapter, cursor: str | None, variants: set[str]) -> None:
        try:
            page = ad.fills(cursor)
        except RunnerError as exc:
            self._report_once(account, "fills", f"reading fills: {exc}", self.clock())
            return
        batch: list[tuple[NewFill, VariantEngine | None]] = []
        for f in page.fills:
            known = self.owner.get(f.client_order_id or "")
            if known is not None:
                eng, group = known
                variant = eng.id
            else:
                order = self.ledger.order_row(f.client_order_id) if f.client_order_id else None
                if order is None:
                    continue  # not ours: reported by reconcile / the orphan audit
                variant, group = order.variant, order.group_id
                eng = self.engines.get(variant)  # type: ignore[assignment]
            if variant not in variants and (eng is not None or not self._unheld(variant)):
                continue  # read through that variant's own cursor: by us, or by its holder
            nf = fill_from_report(f, account=account, run_id=MAIN_RUN, variant=variant, group=group,
                                  flag=eng.flags.get(f.client_order_id or "") if eng is not None else None)
            batch.append((nf, eng))
        try:
            applied = {nf.fill_key for nf in self.ledger.apply_fills([nf for nf, _ in batch])}
        except IntegrityError:  # another runner on this ledger applied some at the same moment:
            applied = {nf.fill_key for nf in self.ledger.apply_fills([nf for nf, _ in batch])}  # now seen
        nets: dict[str, VariantEngine] = {}
        for nf, eng in batch:
            if eng is not None and eng.id != nf.variant:  # an order handed over by `runner promote`
                eng = self.engines.get(nf.variant)  # type: ignore[assignment]
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
            fill_cursors.advance(self.ledger, account, variants, page.cursor)

    def _unheld(self, variant: str) -> bool:
        """Nobody trades ``variant`` (close-dust's pseudo-variant, one let go): whoever reads its
        fill books it (the fill key makes a second booking a no-op)."""
        st = self.ledger.state(variant)
        return st is None or st.owner in (None, self.runner_id)

    def _book_records(self, now: float, only: str | None = None) -> None:
        for account, ad in list(self.adapters.items()):
            if not keeps_records(ad) or (only is not None and account != only):
                continue
            engines = self._of(account)
            try:
                self.records.book(self.ledger, account, ad, engines, now)
            except RunnerError as exc:
                self.reporter.error(f"{account}: reading the venue's cashflow records: {exc}")

    def _note_late_fill(self, nf: NewFill) -> None:
        """A fill read for an order already recorded closed unfilled (cancelled, rejected): the
        fill stands (it happened; its own time is on the fill) and the order's history says so,
        so its status is not "cancelled" with a position behind it."""
        cid = nf.client_order_id or ""
        status = self.ledger.order_status(cid)
        if (event := filled_after(status)) is not None:
            self.sink.order_event(cid, event,
                                  detail=f"{nf.side} {nf.qty} @ {nf.price} read after the order was recorded {status}")
            self.reporter.error(f"{nf.variant}: fill {nf.side} {nf.qty} {nf.instrument} @ {nf.price} on order "
                                f"{cid[:12]} after it was {status}")

    def _housekeeping(self, now: float, account: str | None = None) -> None:
        self._enforce_live_gates(account)
        for eng in self._of(account):
            self._handle_troubles(eng, now)
            if eng.state is State.WARMING and eng.strategy.warm:
                self._warm(eng)
            elif eng.state is State.BACKOFF and now >= self.backoff.get(eng.id, Backoff()).until:
                self.life.fire(eng, Trigger.BACKOFF_ELAPSED, "transient", "auto-resume after backoff")
            elif eng.state is State.RETIRING and self.retries.due("retire:" + eng.id, now):
                self._retire_step(eng, now)

    def _warm(self, eng: VariantEngine) -> None:
        """Warm: active, or paused at once when the operator paused it while it was warming."""
        path = str(eng.loaded.path)
        if any(e.file == path and e.message.startswith(f"{eng.id}: cannot run") for e in self.ledger.spec_errors()):
            self.ledger.clear_spec_error(path)  # whatever stopped it warming is gone
        request = pause_requested(self.ledger.transitions(eng.id))
        if self.life.fire(eng, Trigger.WARM, "warm", "strategy has its history"):
            self.streams.fresh.add(eng.id)
            if request is not None:
                self.life.fire(eng, Trigger.PAUSE, request.reason, f"{request.detail} (now warm)", "operator")

    def _handle_troubles(self, eng: VariantEngine, now: float) -> None:
        """Each trouble goes through the one lifecycle policy (``runner.lifecycle.respond``)."""
        troubles, eng.troubles = eng.troubles, []
        b = self.backoff.get(eng.id)
        if b is not None and not troubles and eng.state is State.ACTIVE and eng.submits_ok > b.ok_mark:
            del self.backoff[eng.id]  # the venue took an order again: the retry count starts over
        for t in troubles:
            cls = t.error.error_class
            resp = respond(eng.state, cls)
            if resp.action is Action.BACKOFF:
                self._back_off(eng, t, now)
            elif resp.action is Action.COUNT:
                n = self.rejections.get(eng.id, 0) + 1
                self.rejections[eng.id] = n
                if n >= self.config.rejection_limit:
                    self.rejections[eng.id] = 0  # the counter resets on the transition it caused
                    self._quarantine(eng, cls.value, t.detail)
            elif resp.action is Action.QUARANTINE:
                self._quarantine(eng, cls.value, t.detail)
            elif resp.action is Action.RETRY:
                self._retire_failed(eng, t.error, now)
            elif resp.action is Action.REPORT and cls is ErrorClass.REJECTED and eng.state in _STARTING:
                self._cannot_run(eng, t.detail)
            elif resp.action is Action.REPORT:
                self._report_once(eng.id, cls.value, t.detail, now)

    def _back_off(self, eng: VariantEngine, t, now: float) -> None:  # type: ignore[no-untyped-def]
        """A backoff cycle is one attempt however many ticks it spans; past the limit, quarantine."""
        b = self.backoff.setdefault(eng.id, Backoff())
        if eng.state is State.BACKOFF:
            return  # the same cycle (an exit or a book failing while it waits): not a new attempt
        cfg = self.config.backoff
        if b.attempts >= cfg.max_attempts:
            self.backoff.pop(eng.id, None)
            self._quarantine(eng, "transient", f"retry limit ({cfg.max_attempts}) reached: {t.detail}")
            return
        delay = b.start_cycle(now, cfg.base_s, cfg.cap_s, getattr(t.error, "retry_after", None), eng.submits_ok)
        self.life.fire(eng, Trigger.TRANSIENT, "transient", f"attempt {b.attempts}, retry in {delay:.1f}s: {t.detail}")

    def _cannot_run(self, eng: VariantEngine, detail: str) -> None:
        """A variant that cannot warm up because the venue refuses what it needs (an instrument it
        does not list) says why on its file (``runner status``, timestamped) and on the console,
        once per distinct reason, instead of sitting silently in ``warming``."""
        if self.ledger.set_spec_error(str(eng.loaded.path), f"{eng.id}: cannot run: {detail}"):
            self.reporter.error(f"{eng.id}: cannot run: {detail} (`runner validate` checks the file against "
                                "its account)")

    def _report_once(self, vid: str, what: str, detail: str, now: float, every_s: float = 60.0) -> None:
        """An error that moves nothing: on the console once a minute per variant and class."""
        key = (vid, what)
        if now - self.reported.get(key, -every_s) >= every_s:
            self.reported[key] = now
            self.reporter.error(f"{vid}: {detail}")

    def _quarantine(self, eng: VariantEngine, reason: str, detail: str) -> None:
        if eng.state in (State.ACTIVE, State.PAUSED, State.BACKOFF):
            self.life.fire(eng, Trigger.QUARANTINE, reason, detail)

    def _retire_failed(self, eng: VariantEngine, exc: RunnerError, now: float) -> None:
        """Retiring keeps trying with backoff when the venue cannot be reached: one line per attempt
        (an error met while the next attempt is not due yet belongs to the last one)."""
        if not self.retries.due("retire:" + eng.id, now):
            return
        n, delay = self.retries.failed("retire:" + eng.id, now, getattr(exc, "retry_after", None))
        self.reporter.error(f"{eng.id}: retiring: attempt {n} failed, next in {delay:.0f}s: {exc}")

    def _retire_step(self, eng: VariantEngine, now: float) -> None:
        """Cancel working orders, flatten what is not dust, then declare retired."""
        try:
            if eng.working:
                eng.cancel_all()
                return
            book_netted_pairs(eng)  # a YES+NO pair the venue netted is cash there: no order closes it
            if not eng.is_flat():
                for sym, pos in eng.positions.items():
                    if pos.qty and sym in eng.marks:
                        book = eng.venue.book(sym)
                        if book.gap is not None:
                            eng._skip(book.gap)  # no price to flatten at: look again next step
                            continue
                        ev = MarketEvent(book.ts, sym, book.bids[0][0], book.asks[0][0])
                        side = "sell" if pos.qty > 0 else "buy"
                        eng.place(Intent(sym, side, "flatten", close=True, urgent=True), ev)
                return
        except RunnerError as exc:
            self._retire_failed(eng, exc, now)
            return
        self.retries.ok("retire:" + eng.id)
        dust = {s: str(p.qty) for s, p in eng.positions.items() if p.qty}
        self.life.fire(eng, Trigger.FLAT, "retire", f"flat; dust left: {dust}" if dust else "flat")

    def _periodic(self, now: float) -> None:
        last = self._last
        if now - last["skips"] >= 5.0:
            last["skips"] = now
            for eng in self._of(None):
                self.sink.skips(MAIN_RUN, eng.id, eng.take_skips())
        if self.guards.enabled and now - last["guards"] >= 1.0:
            last["guards"] = now
            self._apply_guards(now)
        if now - last["heartbeat"] >= 1.0:
            last["heartbeat"] = now
            self._reload_venues()
            self._renew_leases()
            self.streams.flush_recording()  # a recording is readable (and survives a kill) within a second
            self._adopt_unowned()
            self._publish_streams()
            self.warming.write({e.id: (self.streams.seen.get(e.id, 0), e.strategy.history_needed)
                                for e in list(self.engines.values()) if e.state is State.WARMING})
            self.ledger.heartbeat(self.runner_id, socket.gethostname(), os.getpid(),
                                  from_epoch(self.market_ts) if self.market_ts else None)
        if now - last["equity"] >= self.config.equity_interval_s:
            last["equity"] = now
            rows = []
            for eng in self._of(None):
                r, u = eng.realized(), eng.unrealized()
                rows.append(dict(run_id=MAIN_RUN, variant=eng.id, ts=from_epoch(now), equity=r + u, realized=r, unrealized=u))
            self.sink.equity(rows)
            record_marks(self.ledger, engine_marks(self._of(None), from_epoch(now)))
        if now - last["summary"] >= 15.0:
            last["summary"] = now
            self.reporter.summary([e for e in self._of(None) if e.state is not State.RETIRED])

    def _publish_streams(self) -> None:
        """Each account's stream state and budget use (reads only: no venue call)."""
        if self._due("*", "prune stream events", self.clock(), 3600.0):
            prune_events(self.ledger)  # a week is kept
        stalled = {a: w.stalled_s() for a, w in self.workers.workers.items()} if self.workers else {}
        self.board.publish(self.ledger, self.runner_id,
                           {a: ad.stream_status() for a, ad in list(self.adapters.items())}, stalled)

    def _entry_gate(self, eng: VariantEngine, sym: str) -> str | None:
        """Checked at every entry: the live gates, then the exposure caps."""
        if eng.spec.mode == "live" and missing_gates(eng.spec, self.venues):
            return LIVE_GATE
        return self._exposure_gate(eng, sym) if self.config.guards.exposure_groups else None

    def _live_send_gate(self, eng: VariantEngine, req: OrderRequest) -> str | None:
        """Every order of a live variant: an entry needs all three gates (exits always pass)."""
        if not req.reduce_only and missing_gates(eng.spec, self.venues):
            return LIVE_GATE
        return None

    def _reload_venues(self) -> None:
        """venues.yaml changed: adopt it (live gates are re-checked on the next step); an invalid
        one is reported and the last good one stays."""
        try:
            new = self.venues_file.changed()
        except SpecError as exc:
            self.reporter.error(f"venues.yaml changed but is invalid, keeping the previous one: {exc}")
            return
        if new is not None:
            self.venues = new
            self.reporter.info("venues.yaml changed: live gates re-checked")

    def _enforce_live_gates(self, account: str | None = None) -> None:
        """A live variant whose gates no longer hold is paused, the missing gate named; it keeps
        managing its position (entries are refused at order time meanwhile)."""
        for eng in self._of(account):
            if eng.state is State.ACTIVE and eng.spec.mode == "live":
                why = refusal(eng.spec, self.venues)
                if why:
                    self.life.fire(eng, Trigger.PAUSE, LIVE_GATE, why)

    def _exposure_gate(self, eng: VariantEngine, sym: str) -> str | None:
        """Exposure caps, checked at order time: positions and working entries of other variants."""
        for group, g in self.config.guards.exposure_groups.items():
            if sym not in g.instruments or any(eng.views.get(s) for s in g.instruments):
                continue
            others = {e.id for e in self._of(None) if e is not eng and e.state is not State.RETIRED and (
                any(e.views.get(s) for s in g.instruments)
                or any(w.req.instrument in g.instruments and w.purpose in ("entry", "quote") for w in e.working.values()))}
            if len(others) >= g.max_positions:
                return f"exposure:{group}"
        return None

    def _sync_positions(self, account: str | None = None) -> None:
        """The ledger is the truth: adopt positions another process moved (close-dust, reconcile).
        On the account's own thread: a fill it is applying is never folded in twice."""
        for p in self.ledger.positions(MAIN_RUN):
            eng = self.engines.get(p.variant)
            if eng is None or (account is not None and eng.venue.account != account):
                continue
            mine = eng.positions.get(p.instrument)
            if mine is None or (mine.qty, mine.avg_price, mine.realized_pnl, mine.fees) != (
                    p.qty, p.avg_price, p.realized_pnl, p.fees):
                eng.restore_position(p.instrument, PositionState(p.qty, p.avg_price, p.realized_pnl, p.fees, p.opened))

    def _apply_guards(self, now: float) -> None:
        live = [e for e in self._of(None) if e.state is not State.RETIRED]
        day_pnl = float(sum((e.daily_pnl() for e in live), Decimal(0)))
        holders: dict[str, set[str]] = {}
        for group, g in self.config.guards.exposure_groups.items():
            holders[group] = {e.id for e in live if any(e.views.get(sym) for sym in g.instruments)}
        decisions, started = self.guards.update(now, day_pnl, holders)
        for eng in live:
            glob = [d.name for d in decisions if d.active and d.instruments is None]
            eng.guard_reason = glob[0] if glob else None
            eng.blocked = {sym: d.name for d in decisions if d.active and d.instruments is not None
                           and eng.id not in d.exempt for sym in d.instruments}
        for d in started:
            self.reporter.info(f"guard {d.name} active: {d.reason}")
            if d.name == "blackout":  # resting entry orders come off, on each account's own thread
                self._cancel_entries.update(e.venue.account for e in live)
                if self.workers is None:
                    for account in sorted(self._cancel_entries):
                        self._cancel_entries.discard(account)
                        self._cancel_resting_entries(account)

    def _cancel_resting_entries(self, account: str) -> None:
        for eng in self._of(account):
            if eng.state is State.RETIRED:
                continue
            for cid, w in list(eng.working.items()):
                if w.purpose in ("entry", "quote"):
                    try:
                        rep = eng.venue.cancel(cid, w.req.instrument)
                    except RunnerError as exc:
                        self.reporter.error(f"{eng.id}: blackout cancel {cid}: {exc}")
                        continue
                    if rep is not None:
                        eng.on_report(rep)

    def _poll_open_orders(self, account: str | None = None) -> None:
        for eng in self._of(account):
            for cid, w in list(eng.working.items()):
                try:
                    rep = eng.venue.order(cid, w.req.instrument)
                except RunnerError:
                    continue
                if rep is None:
                    # Written, maybe sent, unknown to the venue: after a few looks (the venue
                    # had time to show it) it was never taken; stop holding the instrument.
                    self.unseen[cid] = self.unseen.get(cid, 0) + 1
                    if self.unseen[cid] >= UNSEEN_LOOKS:
                        del self.unseen[cid]
                        eng.working.pop(cid, None)
                        self.sink.order_event(cid, "not_sent", detail=f"unknown to the venue after {UNSEEN_LOOKS} lookups")
                    continue
                self.unseen.pop(cid, None)
                if not rep.status.is_open or rep.status is OrderStatus.PARTIALLY_FILLED:
                    if rep.filled_qty > w.filled:
                        # Wait for the fills before closing the order, unless another runner on
                        # this ledger (same account, reading while the variant was unheld) booked them already:
                        # the position comes from the ledger (_sync_positions), the order closes.
                        booked = self.ledger.filled_qty(cid)
                        if booked < rep.filled_qty:
                            continue
                        w.filled = booked
                    eng.on_report(rep)

    def _cancel_everywhere(self) -> None:
        """Each account cancels on a thread of its own, all at once (see ``each_at_once``)."""
        for account in each_at_once(self._accounts(), self._cancel_on_stop):
            self.reporter.error(f"{account}: cancelling resting orders on stop: no answer in "
                                f"{STOP_TIMEOUT_S:.0f}s; the next start reconciles them by client id")

    def _cancel_on_stop(self, account: str | None = None) -> None:
        """Resting orders must not fill while nobody manages them; a venue that does not answer
        is reported and the stop goes on (the next start reconciles the orders by client id)."""
        for eng in self._of(account):
            spec = self.venues.accounts.get(eng.venue.account)
            if not eng.working or (spec is not None and spec.on_stop == "leave"):
                continue
            try:
                eng.cancel_all()
            except RunnerError as exc:
                self.reporter.error(f"{eng.id}: cancelling resting orders on stop: {exc}")

    def stop(self, clean: bool = False) -> None:
        """Release everything; a ``clean`` stop (Ctrl-C, SIGTERM, ``--duration``) first cancels
        the variants' resting orders unless their account says ``on_stop: leave``."""
        if clean:
            self._cancel_everywhere()
            try:  # book what filled up to the stop (an IOC sent in the last step): the ledger ends
                self._fills()  # equal to the venue, not one restart behind it
            except (RunnerError, *LEDGER_ERRORS) as exc:
                self.reporter.error(f"reading fills on stop: {exc}")
        if self.streams.recorder is not None:
            self.streams.recorder.close()
            self.streams.recorder = None
        for eng in self.engines.values():
            self.sink.skips(MAIN_RUN, eng.id, eng.take_skips())
        self.ledger.release_leases(self.runner_id)
        for ad in self.adapters.values():
            ad.close()


def _sleep_until(deadline: float, should_stop: Callable[[], bool]) -> None:
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _trouble(exc: RunnerError, detail: str):  # type: ignore[no-untyped-def]
    from runner.engine.variant import Trouble

    return Trouble(exc, detail)
