"""Cron audits inside a running runner, run from its loop (cron expressions from ``runner.yaml``).

Stepped inline (``Runtime.step``: tests, replay) the runtime calls :meth:`AuditSchedule.tick`
once per step, between the accounts' fill reads, so a job reads no half-applied state. While
account threads trade (``Runtime.run``) the control thread only kicks the schedule
(:meth:`AuditSchedule.kick`): due jobs run on the audits' own thread, because a job reads the
venues and a venue that hangs must not stall the control thread (leases, operator transitions, deploys for
every account). Their readings stay consistent there too: the ledger is read in one snapshot
(``runner.audit.inputs.snapshot``), a fill applied meanwhile is one transaction and shows as a
venue fill after the ledger's cursor (in flight, not a breach), and a breach needs a second
reading. Jobs use their own venue adapters (the loop's are never touched; the request budget
is the account's, shared and thread-safe) and never ask for a book (that would move the sim's
market). A job that raises is logged and recorded as a finding, and the schedule keeps going.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import SQLAlchemyError

from runner.audit import store
from runner.audit.alerts import Alerter
from runner.audit.findings import Finding
from runner.audit.run import CHECKS, failed, run_checks, settings_for
from runner.errors import BadInputError
from runner.ledger.store import Ledger
from runner.privacy import mask_text
from venues.base import VenueAdapter

log = logging.getLogger("runner.audit.schedule")
EXTRA_DEFAULTS = {"reconcile": "*/5 * * * *"}  # when runner.yaml's audits does not name it
JOB_NAMES = (*CHECKS, "all", "reconcile")


def cron_trigger(expr: str) -> CronTrigger:
    """Five fields (crontab), or six with seconds first (``*/10 * * * * *``)."""
    parts = expr.split()
    if len(parts) == 6:
        sec, minute, hour, day, month, dow = parts
        return CronTrigger(second=sec, minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=UTC)
    return CronTrigger.from_crontab(expr, timezone=UTC)


def jobs(audits: Mapping[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in EXTRA_DEFAULTS.items() if k not in audits}, **audits}


class AuditWorker:
    """What the scheduled jobs need: the ledger, their own adapters (created on first use)."""

    def __init__(self, url: str, venues, home: Path, alerts) -> None:  # type: ignore[no-untyped-def]
        self.url, self.venues, self.home, self.alerts = url, venues, home, alerts
        self._ledger: Ledger | None = None
        self.adapters: dict[str, VenueAdapter] = {}
        self.runs = 0

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.url)
        return self._ledger

    def run(self, name: str) -> None:
        self.runs += 1
        try:
            self._run(name)
        except (BadInputError, SQLAlchemyError) as exc:  # the ledger is down: one line, no traceback
            log.error("scheduled audit %s skipped: ledger unavailable: %s", name,
                      mask_text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
        except Exception as exc:  # noqa: BLE001 - the schedule must keep going
            log.exception("scheduled audit %s failed", name)
            self._record_failure(name, exc)

    def _previous(self) -> dict[str, Finding]:
        """The open findings: the first reading that this cycle's may confirm."""
        return {row.key: store.row_to_finding(row) for row in store.open_findings(self.ledger)}

    def _run(self, name: str) -> None:
        alerter = Alerter.from_config(self.ledger, self.alerts)
        if name == "reconcile":
            from runner.audit.confirm import confirm
            from runner.audit.reconcile import reconcile
            from runner.audit.run import act_on

            previous = self._previous()
            res = reconcile(self.ledger, self.venues, self.home, actor="schedule", adapters=self.adapters,
                            confirm_with=lambda fs: confirm(fs, previous), incremental=True)
            act_on(self.ledger, res.seen_now(), alerter, "schedule")  # carried ones were acted on when read
            return
        names = list(CHECKS) if name == "all" else [name]
        run_checks(self.ledger, self.venues, self.home, names, actor="schedule", alerter=alerter,
                   adapters=self.adapters, settings=settings_for(self.home), previous=self._previous())

    def _record_failure(self, name: str, exc: BaseException) -> None:
        try:
            check = name if name in CHECKS else "audit"
            run_id = store.start_run(self.ledger, [check], "schedule")
            store.record(self.ledger, run_id, [], [failed(check, exc)])
        except Exception:  # noqa: BLE001 - the ledger itself is unreachable: the log has it
            log.exception("cannot record the failure of %s", name)
        for ad in self.adapters.values():  # a broken connection is rebuilt next time
            try:
                ad.close()
            except Exception:  # noqa: BLE001
                pass
        self.adapters.clear()

    def close(self) -> None:
        for ad in self.adapters.values():
            ad.close()
        self.adapters.clear()
        if self._ledger is not None:
            self._ledger.close()


class AuditSchedule:
    """Due times of the configured jobs, checked from the runtime's loop on its clock."""

    def __init__(self, rt) -> None:  # type: ignore[no-untyped-def]
        self.worker = AuditWorker(rt.ledger.url, rt.venues, rt.home, rt.config.alerts)
        self.clock = rt.clock
        self.triggers: dict[str, CronTrigger] = {}
        self.next: dict[str, datetime | None] = {}
        for name, expr in jobs(rt.config.audits).items():
            if name not in JOB_NAMES:
                rt.reporter.error(f"runner.yaml audits: unknown check {name!r} (known: {', '.join(JOB_NAMES)})")
                continue
            try:
                self.triggers[name] = cron_trigger(expr)
            except ValueError as exc:
                rt.reporter.error(f"runner.yaml audits.{name}: bad cron expression {expr!r}: {exc}")
        self.digest_urls = list(rt.config.alerts.urls)
        if rt.config.digest.cron and self.digest_urls:  # the daily digest, sent only where alerts go
            try:
                self.triggers["digest"] = cron_trigger(rt.config.digest.cron)
            except ValueError as exc:
                rt.reporter.error(f"runner.yaml digest.cron: bad cron expression {rt.config.digest.cron!r}: {exc}")
        now = self._now()
        self.next = {n: t.get_next_fire_time(None, now) for n, t in self.triggers.items()}
        self._thread: threading.Thread | None = None  # the audits' own thread, started by kick()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self.busy_since: float | None = None  # clock time the job in progress started (None: idle)

    def kick(self) -> None:
        """From the control thread: run what is due on the audits' own thread; never waits (a job
        still running, e.g. inside a hung venue call, takes the next kick when it is done)."""
        if self._closing.is_set():
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="audits", daemon=True)
            self._thread.start()
        self._wake.set()

    def _main(self) -> None:
        while not self._closing.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._closing.is_set():
                return
            self.busy_since = self.clock()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the schedule must keep going (a job's own faults are recorded)
                log.exception("scheduled audits failed")
            finally:
                self.busy_since = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def tick(self) -> list[str]:
        """Run every job that is due (missed runs coalesce into one); returns their names."""
        ran = []
        for name, trig in self.triggers.items():
            due = self.next.get(name)
            now = self._now()
            if due is None or now < due:
                continue
            if name == "digest":
                self._digest(now)
            else:
                self.worker.run(name)
            ran.append(name)
            self.next[name] = trig.get_next_fire_time(due, max(now, self._now()) + timedelta(microseconds=1))
        return ran

    def _digest(self, now: datetime) -> None:
        """The previous UTC day's digest to the alert URLs; a failure is logged, never raised."""
        from runner.readmodels.digest import send_previous_day

        try:
            send_previous_day(self.worker.ledger, self.digest_urls, now, self.worker.home)
        except Exception:  # noqa: BLE001 - the schedule must keep going
            log.exception("daily digest failed")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the audits' thread; one still inside a venue call is left to finish on its own
        (a daemon: it cannot keep the process alive), its connections with it."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("a scheduled audit is still inside a venue call; left to finish on its own")
                return
        self.worker.close()


def start_audit_scheduler(rt) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Attach the configured audits to the runtime ``rt``'s loop; returns the stop function."""
    schedule = AuditSchedule(rt)
    rt.audit_schedule = schedule  # the runtime ticks it after reading fills
    rt.audit_worker = schedule.worker  # for inspection (status, tests)

    def stop() -> None:
        rt.audit_schedule = None
        schedule.close()

    return stop
