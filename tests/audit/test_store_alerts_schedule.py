"""Findings storage, rate-limited alerts, and the cron scheduler."""

from __future__ import annotations

from decimal import Decimal

from runner.audit import run as audit_run
from runner.audit import store
from runner.audit.alerts import Alerter, apprise_notifier
from runner.audit.findings import Finding, Severity
from runner.audit.run import CheckSpec, run_checks
from runner.audit.schedule import AuditWorker, cron_trigger, start_audit_scheduler
from tests.kit.deployment import ALERTS_YAML, CAPTURED
from tests.kit.desk import Desk


def _f(subject: str = "x", sev: Severity = Severity.WARNING) -> Finding:
    return Finding("freshness", sev, None, {"subject": subject, "n": Decimal("1.5")}, "stale-data", "stale")


def test_a_persisting_finding_is_updated_and_a_cleared_one_closed(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    for _ in range(2):
        r = store.record(d.ledger, store.start_run(d.ledger, ["freshness"], "operator"), ["freshness"], [_f()])
    assert (len(r.new), len(r.persisting)) == (0, 1)
    [row] = store.open_findings(d.ledger)
    assert row.seen == 2 and row.first_run != row.last_run
    r = store.record(d.ledger, store.start_run(d.ledger, ["freshness"], "operator"), ["freshness"], [])
    assert r.closed == [row.key] and store.open_findings(d.ledger) == []
    r = store.record(d.ledger, store.start_run(d.ledger, ["freshness"], "operator"), ["freshness"], [_f()])
    assert len(r.new) == 1 and len(store.all_findings(d.ledger, row.key)) == 2  # came back: a new row


def test_alerts_go_to_apprise_urls_and_a_flapping_finding_cannot_spam(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    CAPTURED.clear()
    alerter = Alerter(d.ledger, apprise_notifier(["capture://x"]), min_interval_s=300)
    for i in range(4):  # open, close, open, close...
        store.record(d.ledger, store.start_run(d.ledger, ["freshness"], "schedule"), ["freshness"],
                     [_f()] if i % 2 == 0 else [])
        if i % 2 == 0:
            alerter.alert(_f())
    assert len(CAPTURED) == 1 and "stale-data" in CAPTURED[0][1]
    assert not alerter.alert(_f("info", Severity.INFO))


def test_a_check_that_raises_is_itself_a_finding(tmp_path, monkeypatch) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})

    def boom(led, venues):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")

    monkeypatch.setitem(audit_run.CHECKS, "cost_sanity", CheckSpec(boom, False))
    [f] = run_checks(d.ledger, d.venues, d.home, ["cost_sanity", "fills_vs_positions"], act=False)
    assert (f.check, f.runbook, f.evidence["subject"]) == ("cost_sanity", "audit-check-failed", "check_failed")


def test_cron_expressions_accept_five_or_six_fields() -> None:
    assert "second='*/5'" in repr(cron_trigger("*/5 * * * * *"))
    assert "minute='*/5'" in repr(cron_trigger("*/5 * * * *"))


def test_the_scheduler_runs_checks_from_runner_yaml_and_keeps_going_after_a_failure(tmp_path, monkeypatch) -> None:
    yaml = ALERTS_YAML + "audits:\n  freshness: '* * * * * *'\n  cost_sanity: '* * * * * *'\n  nonsense: '* * * * *'\n"
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)}, runner_yaml=yaml)
    calls = []

    def boom(led, venues):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("kaboom")

    monkeypatch.setitem(audit_run.CHECKS, "cost_sanity", CheckSpec(boom, False))
    stop = start_audit_scheduler(d.rt)  # jobs run from the runtime's loop, on its clock
    try:
        schedule = d.rt.audit_schedule
        d.step(3)
    finally:
        stop()
    assert len(calls) == 3  # it failed, and ran again on every due second
    assert "nonsense" not in schedule.triggers
    assert store.open_findings(d.ledger, "cost_sanity")[0].runbook == "audit-check-failed"
    d.step(2)
    assert len(calls) == 3  # stopped: the loop runs no more audits


def test_a_scheduled_reconcile_uses_its_own_adapters(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.05")
    worker = AuditWorker(d.ledger.url, d.venues, d.home, d.config.alerts)
    worker.run("reconcile")
    assert worker.adapters["sim"] is not d.sim
    worker.close()
    assert store.open_findings(d.ledger) == []
