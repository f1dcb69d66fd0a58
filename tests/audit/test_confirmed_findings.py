"""Audits that do not cry wolf: one snapshot per reading, orders in flight counted, a breach
confirmed on a second reading before it is critical, and only the running runner acts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from runner.audit import store
from runner.audit.alerts import Alerter, apprise_notifier
from runner.audit.confirm import confirm
from runner.audit.findings import Finding, Severity
from runner.audit.inputs import adapter_factory, gather_venues, late_orders, read_ledger, snapshot
from runner.audit.run import run_checks
from runner.audit.schedule import start_audit_scheduler
from runner.audit.venue_checks import ledger_vs_venue
from runner.kinds.base import Intent
from runner.ledger.store import T_FILLS
from tests.kit.deployment import ALERTS_YAML, CAPTURED, CAPTURED_TYPES
from tests.kit.desk import Desk
from tests.kit.process import cli_json
from venues.sim.store import SimStore

EVERY_10S = ALERTS_YAML + "audits:\n  ledger_vs_venue: '*/10 * * * * *'\n"


def _drift(d: Desk, delta: str, instrument: str = "BTC-USD") -> None:
    """A position change on the venue the ledger never hears of, written as the sim writes fills."""
    st = SimStore(d.home / "state" / "sim" / "sim.db")
    with st.tx():
        qty, cost = st.position(instrument)
        st.set_position(instrument, qty + Decimal(delta), cost + Decimal(delta) * Decimal(30000))
    st.close()


def _until_cycle(d: Desk, runs: int) -> None:
    worker = d.rt.audit_worker
    for _ in range(30):
        if worker.runs >= runs:
            return
        d.step(1)
    raise AssertionError(f"no audit cycle {runs}")


def _open(d: Desk) -> list:  # type: ignore[type-arg]
    return store.open_findings(d.ledger, "ledger_vs_venue")


def test_a_real_drift_is_pending_on_one_cycle_and_quarantined_on_the_second(tmp_path) -> None:
    d = Desk.create(tmp_path, runner_yaml=EVERY_10S)
    d.trade("MR_v1", "buy", "0.05")
    stop = start_audit_scheduler(d.rt)
    CAPTURED.clear()
    CAPTURED_TYPES.clear()
    _drift(d, "0.5")
    _until_cycle(d, 1)
    [row] = _open(d)
    assert row.severity == "pending" and row.summary.startswith("unconfirmed")
    assert d.ledger.state("MR_v1").state == "active" and CAPTURED == []  # neither quarantines nor pages
    _until_cycle(d, 2)
    [row] = _open(d)
    assert row.severity == "critical"
    d.step(1)
    assert d.ledger.state("MR_v1").state == "quarantined"
    assert d.rt.engines["MR_v1"].state.value == "quarantined"
    [last] = d.ledger.transitions("MR_v1")[-1:]
    assert (last.reason, last.actor) == ("invariant", "schedule")
    assert [t for t, _ in CAPTURED] == ["[critical] ledger_vs_venue"] and CAPTURED_TYPES == ["failure"]
    stop()


def test_a_reading_the_next_one_contradicts_never_quarantines(tmp_path) -> None:
    d = Desk.create(tmp_path, runner_yaml=EVERY_10S)
    d.trade("MR_v1", "buy", "0.05")
    stop = start_audit_scheduler(d.rt)
    _drift(d, "0.5")
    _until_cycle(d, 1)
    assert [r.severity for r in _open(d)] == ["pending"]
    _drift(d, "-0.5")  # the next reading sees no difference
    _until_cycle(d, 2)
    assert _open(d) == []
    _drift(d, "0.3")
    _until_cycle(d, 3)
    _drift(d, "-0.1")  # shrunk: not confirmed, a new first reading
    _until_cycle(d, 4)
    assert [r.severity for r in _open(d)] == ["pending"]
    _drift(d, "-0.4")  # reversed: not confirmed either
    _until_cycle(d, 5)
    assert [r.severity for r in _open(d)] == ["pending"]
    assert [t.to_state for t in d.ledger.transitions("MR_v1")] == ["warming", "active"]
    stop()


def test_runner_audit_from_the_command_line_reports_and_records_but_changes_nothing(tmp_path) -> None:
    d = Desk.create(tmp_path, runner_yaml=ALERTS_YAML)
    d.trade("MR_v1", "buy", "0.05")
    _drift(d, "0.5")
    before = d.ledger.transitions("MR_v1")
    out = cli_json(d.home, "audit", "--check", "ledger_vs_venue")
    [f] = out["findings"]
    assert f["severity"] == "critical"  # both of its readings agree
    assert f["evidence"]["confirmation"] == "confirmed on a second reading"
    assert [r.severity for r in _open(d)] == ["critical"]  # recorded
    assert d.ledger.transitions("MR_v1") == before and d.ledger.state("MR_v1").state == "active"
    assert all(r.alerted is None for r in _open(d))  # the running runner alerts, not the CLI


def test_fills_of_an_order_written_after_the_snapshot_are_in_flight(tmp_path) -> None:
    d = Desk.create(tmp_path)
    led = read_ledger(d.ledger)  # the audit's snapshot...
    eng = d.rt.engines["MR_v1"]
    eng.place(Intent("BTC-USD", "buy", "entry", qty=0.05, urgent=True), d.event("BTC-USD"))  # ...then a trade
    venues = gather_venues(led, d.venues, adapter_factory(d.venues, d.home))
    assert [f.evidence["difference"] for f in ledger_vs_venue(led, venues)] == [Decimal("0.05")]
    late_orders(d.ledger, led, venues)
    assert ledger_vs_venue(led, venues) == []


def test_a_reading_is_one_snapshot_of_the_ledger(tmp_path) -> None:
    d = Desk.create(tmp_path)
    count = select(func.count()).select_from(T_FILLS)
    with snapshot(d.ledger) as conn:
        n = conn.execute(count).scalar()
        d.trade("MR_v1", "buy", "0.05")  # the runner writes a fill meanwhile
        assert conn.execute(count).scalar() == n
    with snapshot(d.ledger) as conn:
        assert conn.execute(count).scalar() == n + 1


def test_confirmation_needs_the_same_subject_off_the_same_way_by_as_much() -> None:
    def f(diff: str, sev: Severity = Severity.CRITICAL) -> Finding:
        return Finding("ledger_vs_venue", sev, None, {"subject": "sim:BTC-USD", "difference": Decimal(diff)})

    assert confirm([f("0.5")], {})[0].severity is Severity.PENDING
    assert confirm([f("0.5")], {f("0.5").key: f("0.5", Severity.PENDING)})[0].severity is Severity.CRITICAL
    assert confirm([f("0.3")], {f("0.5").key: f("0.5", Severity.PENDING)})[0].severity is Severity.PENDING  # shrunk
    assert confirm([f("-0.5")], {f("0.5").key: f("0.5", Severity.PENDING)})[0].severity is Severity.PENDING
    assert confirm([f("0.8")], {f("0.5").key: f("0.5", Severity.PENDING)})[0].severity is Severity.CRITICAL  # grows
    ledger_only = Finding("fills_vs_positions", Severity.CRITICAL, "V", {"subject": "BTC-USD"})
    assert confirm([ledger_only], {})[0].severity is Severity.CRITICAL  # one snapshot: no second reading


def test_alert_severity_maps_to_the_alert_services_types(tmp_path) -> None:
    d = Desk.create(tmp_path)
    CAPTURED_TYPES.clear()
    alerter = Alerter(d.ledger, apprise_notifier(["capture://x"]), min_interval_s=0)
    for sev, subject in ((Severity.CRITICAL, "a"), (Severity.WARNING, "b"), (Severity.PENDING, "c")):
        alerter.alert(Finding("ledger_vs_venue", sev, None, {"subject": subject}, "ledger-vs-venue", "x"))
    assert CAPTURED_TYPES == ["failure", "warning"]  # pending never pages


def test_run_checks_without_acting_moves_no_variant(tmp_path) -> None:
    d = Desk.create(tmp_path)
    d.trade("MR_v1", "buy", "0.05")
    _drift(d, "0.5")
    [f] = run_checks(d.ledger, d.venues, d.home, ["ledger_vs_venue"], act=False)
    assert f.severity is Severity.CRITICAL and d.ledger.state("MR_v1").state == "active"


def test_a_reading_is_one_snapshot_on_postgresql_too(tmp_path, pg_url: str) -> None:
    from runner.ledger.store import Ledger

    writer, reader = Ledger(pg_url), Ledger(pg_url)
    count = select(func.count()).select_from(T_FILLS)
    from runner.ledger.store import NewFill

    def fill(n: int) -> NewFill:
        return NewFill(f"sim:f{n}", None, "main", "V_v1", "sim", "BTC-USD", "buy", Decimal("0.1"), Decimal("30000"),
                       Decimal("0"), datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC))

    writer.apply_fills([fill(1)])
    with snapshot(reader) as conn:
        n = conn.execute(count).scalar()
        writer.apply_fills([fill(2)])  # committed by another connection meanwhile
        assert conn.execute(count).scalar() == n
    with snapshot(reader) as conn:
        assert conn.execute(count).scalar() == n + 1
    writer.close()
    reader.close()
