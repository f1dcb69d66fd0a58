"""fills_vs_positions: every position equals what its fills imply."""

from __future__ import annotations

from runner.audit.findings import Severity
from runner.audit.inputs import read_ledger
from runner.audit.ledger_checks import fills_vs_positions
from runner.audit.run import run_checks
from tests.kit.desk import Desk


def _desk(tmp_path):  # type: ignore[no-untyped-def]
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.05")
    d.trade("MR_v1", "sell", "0.02", purpose="exit")
    d.trade("MR_v2", "buy", "0.04")
    return d


def test_positions_built_by_the_engine_agree_with_their_fills(tmp_path) -> None:
    d = _desk(tmp_path)
    assert fills_vs_positions(read_ledger(d.ledger), {}) == []


def test_vector_corruption_is_caught_even_when_counts_and_totals_match(tmp_path) -> None:
    d = _desk(tmp_path)
    before = read_ledger(d.ledger)
    total = sum(p.qty for p in before.positions)
    # Swap the two variants' sizes in place: same rows, same total, wrong attribution.
    with d.ledger.begin() as conn:
        conn.exec_driver_sql("UPDATE positions SET qty = '0.04' WHERE variant = 'MR_v1'")
        conn.exec_driver_sql("UPDATE positions SET qty = '0.03' WHERE variant = 'MR_v2'")
    after = read_ledger(d.ledger)
    assert len(after.positions) == len(before.positions)
    assert sum(p.qty for p in after.positions) == total
    found = fills_vs_positions(after, {})
    assert {f.variant for f in found} == {"MR_v1", "MR_v2"}
    assert all(f.severity is Severity.CRITICAL and f.runbook == "fills-vs-positions" for f in found)
    assert found[0].evidence["fields"] == ["qty"]


def test_an_altered_average_cost_alone_is_caught(tmp_path) -> None:
    d = _desk(tmp_path)
    with d.ledger.begin() as conn:
        conn.exec_driver_sql("UPDATE positions SET avg_price = '1' WHERE variant = 'MR_v2'")
    [f] = fills_vs_positions(read_ledger(d.ledger), {})
    assert f.variant == "MR_v2" and f.evidence["fields"] == ["avg_price"]


def test_an_invariant_breach_quarantines_the_variant_through_the_lifecycle(tmp_path) -> None:
    d = _desk(tmp_path)
    with d.ledger.begin() as conn:
        conn.exec_driver_sql("UPDATE positions SET realized_pnl = '99' WHERE variant = 'MR_v1'")
    run_checks(d.ledger, d.venues, d.home, ["fills_vs_positions"], actor="schedule")
    assert d.ledger.state("MR_v1").state == "quarantined"
    assert d.ledger.state("MR_v2").state == "active"
    last = d.ledger.transitions("MR_v1")[-1]
    assert (last.to_state, last.reason, last.actor) == ("quarantined", "invariant", "schedule")
    d.step()  # the running runner adopts it
    assert d.rt.engines["MR_v1"].state.value == "quarantined"
