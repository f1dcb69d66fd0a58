"""Cron audits inside a running runner (APScheduler, cron expressions from ``runner.yaml``).

Jobs run one at a time on one worker thread that owns its own ledger engine and its own
venue adapters: the trading loop's adapters are never touched from here, and no audit asks
for a book (that would move the sim's market). A job that raises is logged and recorded as
a finding; the scheduler keeps going.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from runner.audit import store
from runner.audit.alerts import Alerter
from runner.audit.run import CHECKS, failed, run_checks, settings_for
from runner.ledger.store import Ledger
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
    """What one scheduled job needs, created on first use and owned by the worker thread."""

    def __init__(self, url: str, venues, home: Path, alerts) -> None:  # type: ignore[no-untyped-def]
        self.url, self.venues, self.home, self.alerts = url, venues, home, alerts
        self._ledger: Ledger | None = None
        self.adapters: dict[str, VenueAdapter] = {}
        self.lock = threading.Lock()
        self.runs = 0

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.url)
        return self._ledger

    def run(self, name: str) -> None:
        with self.lock:
            self.runs += 1
            try:
                self._run(name)
            except Exception as exc:  # noqa: BLE001 - the scheduler must keep going
                log.exception("scheduled audit %s failed", name)
                self._record_failure(name, exc)

    def _run(self, name: str) -> None:
        alerter = Alerter.from_config(self.ledger, self.alerts)
        if name == "reconcile":
            from runner.audit.reconcile import reconcile
            from runner.audit.run import act_on

            res = reconcile(self.ledger, self.venues, self.home, actor="schedule", adapters=self.adapters)
            act_on(self.ledger, res.findings, alerter, "schedule")
            return
        names = list(CHECKS) if name == "all" else [name]
        run_checks(self.ledger, self.venues, self.home, names, actor="schedule", alerter=alerter,
                   adapters=self.adapters, settings=settings_for(self.home))

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
        with self.lock:
            for ad in self.adapters.values():
                ad.close()
            self.adapters.clear()
            if self._ledger is not None:
                self._ledger.close()


def _schedule_digest(rt, sched, worker: AuditWorker) -> None:  # type: ignore[no-untyped-def]
    """The daily digest of the previous UTC day, sent through the alert URLs (none: not scheduled)."""
    from runner.readmodels.digest import send_previous_day

    expr, urls = rt.config.digest.cron, rt.config.alerts.urls
    if not expr or not urls:
        return
    try:
        trigger = cron_trigger(expr)
    except ValueError as exc:
        rt.reporter.error(f"runner.yaml digest.cron: bad cron expression {expr!r}: {exc}")
        return

    def job() -> None:
        with worker.lock:  # the worker's ledger belongs to one job at a time
            try:
                send_previous_day(worker.ledger, urls)
            except Exception:  # noqa: BLE001 - the scheduler must keep going
                log.exception("daily digest failed")

    sched.add_job(job, trigger, id="digest", name="daily digest")


def start_audit_scheduler(rt) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Schedule every configured audit for the runtime ``rt``; returns the stop function."""
    worker = AuditWorker(rt.ledger.url, rt.venues, rt.home, rt.config.alerts)
    sched = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}, timezone=UTC,
    )
    for name, expr in jobs(rt.config.audits).items():
        if name not in JOB_NAMES:
            rt.reporter.error(f"runner.yaml audits: unknown check {name!r} (known: {', '.join(JOB_NAMES)})")
            continue
        try:
            trigger = cron_trigger(expr)
        except ValueError as exc:
            rt.reporter.error(f"runner.yaml audits.{name}: bad cron expression {expr!r}: {exc}")
            continue
        sched.add_job(worker.run, trigger, args=[name], id=f"audit:{name}", name=f"audit {name}")
    _schedule_digest(rt, sched, worker)
    sched.start()
    rt.audit_scheduler, rt.audit_worker = sched, worker  # for inspection (status, tests)

    def stop() -> None:
        sched.shutdown(wait=True)
        worker.close()

    return stop
