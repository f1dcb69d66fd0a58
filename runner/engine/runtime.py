"""The running runner: deploys, restores, trades, and obeys the ledger.

The step has a control part (leases, operator transitions written by other processes,
deploys, audits, heartbeat) and a trading part per account (books, the variants' decisions
and orders, fills, troubles turned into lifecycle triggers, open-order polls, retires).
``step()`` runs both inline; ``run()`` gives each account its own thread
(``runner.engine.account_workers``) so a slow or hanging venue stalls only its own variants,
and the control part then calls no venue: the venue half of a start runs on its account's
thread (``runner.engine.starts``), the scheduled audits on their own.
Every decision lands in the ledger first.

``Runtime`` is the façade: it holds the shared state and the loop, and composes one
collaborator per concern (each holds the runtime and reads its state live):
- ``adoption`` (``runner.engine.adoption``): adopt_unowned, spawn, cannot_start,
  restore_groups, reconcile_orders, adopt_recorded_states, take_handover;
- ``trading`` (``runner.engine.trading``): trade, catch_up, market, fills, read_fills,
  book_records, note_late_fill;
- ``chores`` (``runner.engine.chores``): tend, housekeeping, warm, poll_open_orders,
  sync_positions, cancel_resting_entries, cancel_on_stop;
- ``responder`` (``runner.engine.responder``): handle_troubles, back_off, cannot_run,
  quarantine, retire_failed, retire_step, report_once;
- ``gates`` (``runner.engine.gates``): entry_gate, live_send_gate, exposure_gate,
  enforce_live_gates, reload_venues, apply_guards;
- ``periodic`` (``runner.engine.periodic``): the timed control work, publish_streams.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from runner.engine.account_workers import AccountWorkers, Wake
from runner.engine.accounts import account_config
from runner.engine.adoption import Adoption
from runner.engine.chores import AccountChores
from runner.engine.containment import LEDGER_ERRORS, LedgerOutage, outage_text
from runner.engine.deploy import FileRead, scan
from runner.engine.gates import Gates
from runner.engine.guards import Guards
from runner.engine.lifecycle_driver import LifecycleDriver, transition
from runner.engine.live_gates import VenuesFile
from runner.engine.periodic import Periodic
from runner.engine.report import Reporter, configured_secrets
from runner.engine.responder import Responder
from runner.engine.retries import Backoff, Retries
from runner.engine.shared_positions import Holders
from runner.engine.sink import ImmediateSink
from runner.engine.starts import StartQueue, slow_note
from runner.engine.stopping import close_adapters, stop_accounts
from runner.engine.stream_events import StreamBoard
from runner.engine.streams import EngineStreams
from runner.engine.trading import AccountTrading
from runner.engine.variant import VariantEngine
from runner.engine.venue_records import VenueRecords
from runner.engine.warming import WarmingBoard
from runner.errors import FencedError, RefusedError
from runner.ledger.identity import client_id_salt
from runner.ledger.instruments import record_instruments
from runner.ledger.models import MAIN_RUN
from runner.ledger.store import Ledger, is_in_memory
from runner.lifecycle import State, Trigger, allowed
from runner.privacy import mask_url
from runner.spec.deployment_config import RunnerConfig, VenuesConfig
from venues.base import VenueAdapter
from venues.registry import create_adapter

JOIN_S = 5.0  # when run() returns, how long an account thread inside a venue call is waited for


OWNER_CACHE = 4096  # orders whose owner is kept in memory (older: looked up in the ledger)


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
        self.holders = Holders(ledger, self.engines, lambda: self.clock())  # who holds what on each account
        self.owner: dict[str, tuple[VariantEngine, str | None]] = {}  # client order id -> (engine, group)
        self.backoff: dict[str, Backoff] = {}
        self.rejections: dict[str, int] = {}
        # retiring and starting keep trying when the venue cannot be reached, one line per attempt
        self.retries = Retries(config.backoff.base_s, config.backoff.cap_s)
        self.rescan = True
        self.pending_files: dict[Path, FileRead] | None = None
        self.guards = Guards(ledger, config.guards, home)
        self.venues_file = VenuesFile(home)
        self.market_ts: float | None = None
        self.cid_salt = client_id_salt(ledger)  # every client order id of this ledger carries it
        self.records = VenueRecords()  # funding and asset-taken fees from the venues' own records
        self.streams = EngineStreams()  # what each variant is handed: its declared stream, warmed up
        self.warming = WarmingBoard(home)  # `warming n/W` for runner status
        self.audit_schedule = None  # runner.audit.schedule.AuditSchedule, attached by `runner run`
        self.workers: AccountWorkers | None = None  # one trading thread per account while run() runs
        self._account_last: dict[tuple[str, str], float] = {}  # (account, chore) -> last time done
        self.board = StreamBoard()  # each account's stream state, published every second
        self.starts = StartQueue()  # venue halves of starts, for their account's thread (run())
        self.adoption = Adoption(self)
        self.trading = AccountTrading(self)
        self.chores = AccountChores(self)
        self.responder = Responder(self)
        self.gates = Gates(self)
        self.periodic = Periodic(self)

    # --- start ---------------------------------------------------------------------------
    def start(self, threads: bool = False) -> None:
        """``threads``: account threads will trade (``run``), so the venue half of each start is
        left to its account's thread and a venue that hangs holds up nothing else."""
        from runner.marketdata.recorder import Recorder, prune

        self.starts.enabled = threads

        root = self.home / "state" / "recordings"
        prune(root, self.config.recordings_keep_days)
        if self.config.record:
            self.streams.recorder = Recorder(root)  # this session's events and decisions, as backtest files
        self.ledger.ensure_run(MAIN_RUN, "main")
        self.deploy()
        n = len(self.engines) + len(self.starts.waiting())  # starting on their account's thread: counted
        self.reporter.info(f"runner {self.runner_id} up: {n} variant(s), ledger {mask_url(self.ledger.url)}")

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
        self.adoption.adopt_unowned()
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

    def renew_leases(self) -> None:
        waiting = self.starts.variants()  # held while their venue keeps their start waiting
        held = self.ledger.renew_leases(self.runner_id, list(self.engines) + waiting, self.config.lease_ttl_s)
        for vid in [v for v in self.engines if v not in held]:
            self.let_go(vid, "lease lost to another runner")
        for vid in [v for v in waiting if v not in held]:
            self.starts.drop(vid)
            self.reporter.error(f"{vid}: lease lost to another runner while starting; this runner lets it go")

    def let_go(self, vid: str, why: str) -> None:
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

    def on_order(self, eng: VariantEngine, req, purpose: str) -> None:  # type: ignore[no-untyped-def]
        w = eng.working.get(req.client_order_id)
        self.own(req.client_order_id, eng, w.group if w else None)
        feed = getattr(eng.venue, "feed", None)
        if feed is not None:
            feed.order_sent()  # its fills are read on the next step, not at the next poll

    def own(self, cid: str, eng: VariantEngine, group: str | None) -> None:
        """Remember who placed an order (and its group) for the fills to come. A cache of the
        latest orders only: a fill for anything older is routed through the ledger's order row."""
        self.owner[cid] = (eng, group)
        if len(self.owner) > OWNER_CACHE:
            for old in list(self.owner)[: OWNER_CACHE // 4]:
                self.owner.pop(old, None)  # another account's thread may have dropped it

    # --- the loop ------------------------------------------------------------------------
    def run(self, duration: float | None = None, should_stop: Callable[[], bool] = lambda: False,
            concurrent: bool | None = None) -> None:
        """Until stopped: the control part here, each account's trading part on its own thread
        (``concurrent``; not for an in-memory ledger, whose connection is per thread)."""
        end = None if duration is None else time.monotonic() + duration
        outage = LedgerOutage()
        if concurrent is None:
            concurrent = not is_in_memory(self.ledger.url)
        if concurrent:
            self.starts.enabled = True  # starts from now on run their venue half on the account's thread
        if concurrent and self.workers is None:
            self.workers = AccountWorkers(self._account_step, self.config.loop_interval_s, self.reporter.error,
                                          wake=self._stream_wake, idle_s=self.ledger.idle_in_transaction_s)
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
                self.reporter.error(outage_text(exc, outage.attempts, delay, self.ledger.idle_in_transaction_s))
                _sleep_until(time.monotonic() + delay, should_stop)
                continue
            if outage.recovered():
                self.reporter.info("ledger reachable again: trading resumes")
            time.sleep(max(0.0, self.config.loop_interval_s - (time.monotonic() - t0)))

    def step(self) -> None:
        """One whole step inline, every account in turn (tests, replay)."""
        now = self.clock()
        self._control(now)
        accounts = self.accounts()
        for account in accounts:
            self.trading.trade(account)
        self._let_go_fenced()
        if self.audit_schedule is not None:
            self.audit_schedule.tick()  # here, between fill reads: audits see no half-applied state
        for account in accounts:
            self.chores.tend(account, now)
        self.periodic.tick(now)

    def _control_step(self) -> None:
        """The main thread's part while account threads trade (``run``)."""
        now = self.clock()
        self._control(now)
        assert self.workers is not None
        self.workers.ensure(self.accounts())
        self._let_go_fenced()
        if self.audit_schedule is not None:
            self.audit_schedule.kick()  # due jobs run on the audits' own thread: they read venues
        for pending in self.starts.slow():  # a start its venue keeps waiting says so (console: once)
            if self.ledger.set_spec_error(pending.dep.path, slow_note(pending)) and not pending.said:
                pending.said = True
                self.reporter.error(slow_note(pending))
        self.periodic.tick(now)

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
        self.trading.trade(account)
        self.chores.tend(account, self.clock())

    def _control(self, now: float) -> None:
        if self.ledger.fences and min(f.valid_until for f in self.ledger.fences.values()) <= time.monotonic():
            self.renew_leases()  # stalled past a lease (SIGSTOP, GC, partition): find out before acting
        self.adoption.read_states()  # operator transitions; each account adopts its own
        if self.pending_files is not None:
            files, self.pending_files = self.pending_files, None
            self.deploy(files)
        elif self.rescan:
            self.deploy()

    def accounts(self) -> list[str]:
        """Accounts with an engine, or with a start waiting for its thread."""
        return sorted({e.venue.account for e in list(self.engines.values())} | self.starts.accounts())

    def of(self, account: str | None) -> list[VariantEngine]:
        """The engines of ``account`` (all for None), as a list: other threads add and remove."""
        return [e for e in list(self.engines.values()) if account is None or e.venue.account == account]

    def _let_go_fenced(self) -> None:
        for vid in [v for v, e in list(self.engines.items()) if e.fenced]:
            if vid in self.engines:
                self.let_go(vid, f"order refused by the lease fence ({self.engines[vid].fenced})")

    def due(self, account: str, chore: str, now: float, every_s: float) -> bool:
        """Whether ``chore`` of ``account`` is due (every ``every_s``), marking it done if so."""
        key = (account, chore)
        if now - self._account_last.get(key, 0.0) < every_s:
            return False
        self._account_last[key] = now
        return True

    def stop(self, clean: bool = False) -> None:
        """Release everything; a ``clean`` stop (Ctrl-C, SIGTERM, ``--duration``) first cancels
        the variants' resting orders unless their account says ``on_stop: leave``, and reads
        the fills up to the stop (``runner.engine.stopping``: per account, within a bound)."""
        if clean:  # each account's cancels and last fill reads at once, within the bound
            stop_accounts(self, self.config.stop_timeout_s)
        if self.streams.recorder is not None:
            self.streams.recorder.close()
            self.streams.recorder = None
        for eng in self.engines.values():
            self.sink.skips(MAIN_RUN, eng.id, eng.take_skips())
        self.ledger.release_leases(self.runner_id)
        close_adapters(self, self.config.stop_timeout_s)


def _sleep_until(deadline: float, should_stop: Callable[[], bool]) -> None:
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
