"""The audit storm: `runner run` trades the samples on the sim while `runner audit` runs in a loop
from other processes. No false critical, no quarantine; then a real drift injected in the sim
account is still confirmed and quarantined within two of the runner's audit cycles."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from runner.audit import store
from runner.ledger.store import Ledger, default_url
from runner.ledger.types import utcnow
from tests.kit.home import make_home
from tests.kit.process import FAST_SIM, cli, cli_json, start_runner, stop_runner, wait_for
from venues.sim.store import SimStore

STORM_S = 30.0
MIN_RUNS = 8
CYCLE_S = 5
RUNNER_YAML = (
    "loop_interval_s: 0.05\n"
    "audits:\n"
    f"  ledger_vs_venue: '*/{CYCLE_S} * * * * *'\n"
    "  fills_vs_positions: '*/10 * * * * *'\n"
    "  groups_balanced: '*/10 * * * * *'\n"
    "  freshness: '*/10 * * * * *'\n"
)
SAMPLES = ("MR_v13.yaml", "MMTV_v3.yaml", "funding-arb_v1.yaml", "Kalshi-sum_v1.yaml")


def _fills(home: Path) -> int:
    return len(cli_json(home, "fills", "--limit", "0")["fills"])


def _quarantines(ledger: Ledger) -> list:  # type: ignore[type-arg]
    return [t for t in ledger.transitions() if t.to_state == "quarantined"]


def _scheduled_runs(ledger: Ledger) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from runner.ledger.models import AuditRun

    with ledger.engine.connect() as conn:
        rows = conn.execute(select(AuditRun.__table__).where(AuditRun.__table__.c.actor == "schedule")).all()
    return [r for r in rows if "ledger_vs_venue" in r.checks.split(",")]


def _naive(ts: datetime) -> datetime:
    return ts.replace(tzinfo=None) if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def test_audit_storm_no_false_criticals_and_a_real_drift_is_still_caught(tmp_path) -> None:
    home = make_home(tmp_path / "desk", FAST_SIM, RUNNER_YAML).path
    from tests.kit.home import Home

    for name in SAMPLES:
        Home(home).add_variant(name)
    proc = start_runner(home, max_s=400)
    try:
        wait_for(lambda: _fills(home) >= 5, timeout=60, every=1.0)
        # the storm: one `runner audit` after another, each its own process, while trading goes on
        seen: list[str] = []
        end = time.monotonic() + STORM_S
        runs = 0
        while time.monotonic() < end or runs < MIN_RUNS:  # a slow machine gets the same number of audits
            res = cli(home, "audit", "--json")
            assert res.returncode in (0, 1), res.stderr
            seen += [f["severity"] for f in json.loads(res.stdout)["findings"]]
            runs += 1
        assert proc.poll() is None, (home / "runner.log").read_text()[-3000:]
        ledger = Ledger(default_url(home))
        rows = store.all_findings(ledger)
        assert _fills(home) > 5
        assert "critical" not in seen, [f for f in seen if f == "critical"]
        assert [r.summary for r in rows if r.severity == "critical"] == []
        assert _quarantines(ledger) == []

        # a real drift on the venue: the sim account holds 0.5 more than the ledger knows of an
        # instrument a live variant trades
        traded = {f.instrument for f in ledger.fills(limit=None)}
        inst = next(i for i in ("BTC-USD", "ETH-USD", "BTC-PERP") if i in traded)
        st = SimStore(home / "state" / "sim" / "sim.db")
        with st.tx():
            qty, cost = st.position(inst)
            st.set_position(inst, qty + Decimal("0.5"), cost + Decimal("0.5") * Decimal(2000))
        st.close()
        injected = _naive(utcnow())
        wait_for(lambda: _quarantines(ledger), timeout=60, every=0.5)
        first = min(_naive(t.ts) for t in _quarantines(ledger))
        cycles = [r for r in _scheduled_runs(ledger) if injected <= _naive(r.started) <= first]
        assert 1 <= len(cycles) <= 2, cycles  # confirmed and acted on within two of the runner's cycles
        [row] = [r for r in store.open_findings(ledger, "ledger_vs_venue") if r.severity == "critical"]
        ev = json.loads(row.evidence)
        assert ev["instrument"] == inst and ev["difference"] == 0.5
        quarantined = {t.variant for t in _quarantines(ledger)}
        assert quarantined and quarantined <= set(ev["variants"])
        assert all((t.reason, t.actor) == ("invariant", "schedule") for t in _quarantines(ledger))
        ledger.close()
    finally:
        stop_runner(proc)
