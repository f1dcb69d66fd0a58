"""Offline triage names the right runbook sections and commands, for each incident class.

Every ledger here is built by the real runtime, engine and sim venue (tests/kit/desk.py);
venue misbehaviour is injected in the venue, never in the ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.answer import Answer
from agent.context import AgentContext
from agent.triage import ask, triage
from runner.spec.deployment_config import BackoffSpec, RunnerConfig
from tests.kit.desk import Desk, variant_yaml


def run_triage(desk: Desk, variant: str | None = None, now: datetime | None = None) -> Answer:
    ctx = AgentContext.open(desk.home, now=now)
    try:
        return triage(ctx, variant)
    finally:
        ctx.close()


def commands(a: Answer) -> list[str]:
    return [c.command for c in a.commands]


def test_a_variant_quarantined_after_a_rejection_is_cleared_with_resume_clear(desk: Desk) -> None:
    desk.start()
    desk.sim.faults.append("reject")
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    assert desk.state("MR_v13") == "quarantined"
    a = run_triage(desk)
    assert a.problem and "quarantined" in a.diagnosis
    assert "proc-clear-quarantine" in a.runbook
    cmds = commands(a)
    assert cmds.index("runner events MR_v13") < cmds.index("runner resume MR_v13 --clear")


def test_a_limit_price_outside_the_venue_band_points_to_quote_drift(desk: Desk) -> None:
    desk.start()
    desk.sim.faults.append("reject")  # the sim's band rejection (the engine clamps; the venue moved)
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    a = run_triage(desk, "MR_v13")
    assert a.runbook[0] == "quote-drift-out-of-band"
    assert "runner resume MR_v13 --clear" in commands(a)


def test_repeated_quarantine_and_clear_is_called_an_auto_resume_loop(desk: Desk) -> None:
    desk.start()
    for i in range(3):
        desk.sim.faults.append("reject")
        desk.place("MR_v13", "buy", 0.01)
        desk.step()
        if i < 2:
            desk.resume("MR_v13", clear=True)
            desk.step()
    a = run_triage(desk)
    assert "auto-resume-loop" in a.runbook
    assert any("3 times" in e.get("detail", "") or e.get("quarantines") == 3 for e in a.evidence)


def test_a_risk_block_points_to_a_new_version_not_an_edit(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13", max_order=100)}).start()
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    assert desk.ledger.state("MR_v13").reason == "risk_block"  # type: ignore[union-attr]
    a = run_triage(desk)
    assert a.runbook[:2] == ["risk-block", "proc-change-risk-limit"]
    assert "runner resume MR_v13 --clear" in commands(a)


def test_a_venue_outage_backs_off_then_quarantines_at_the_retry_limit(tmp_path: Path) -> None:
    cfg = RunnerConfig(backoff=BackoffSpec(base_s=0.5, cap_s=0.5, max_attempts=2))
    desk = Desk(tmp_path, config=cfg).start()
    desk.sim.faults.append("down")
    desk.rt.step()
    assert desk.state("MR_v13") == "backoff"
    a = run_triage(desk)
    assert a.runbook[0] == "venue-outage-and-ambiguous-orders"
    assert "runner resume MR_v13 --clear" not in commands(a)  # backoff resumes by itself
    for _ in range(4):
        desk.now += 1
        desk.rt.step()
    assert desk.state("MR_v13") == "quarantined"
    a = run_triage(desk)
    assert a.runbook[0] == "venue-outage-and-ambiguous-orders"
    assert commands(a)[-1] == "runner resume MR_v13 --clear"
    assert "runner reconcile" in commands(a)


def test_an_ambiguous_submit_resolved_by_client_id_is_reported_not_alarmed(desk: Desk) -> None:
    desk.start()
    desk.sim.faults.append("timeout_after_accept")
    desk.place("MR_v13", "buy", 0.01)
    desk.step(3)
    assert desk.state("MR_v13") == "active"
    a = run_triage(desk)
    assert "venue-outage-and-ambiguous-orders" in a.runbook
    assert not any("resume" in c for c in commands(a))


def test_a_fill_rounded_beyond_tolerance_quarantines_and_points_to_rounded_fills(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13", style="maker")}).start()
    rep = desk.place("MR_v13", "buy", 0.0241, price=desk.mid() * 0.995)
    assert rep is not None
    desk.venue_fills(rep, "0.0200", status="filled")
    desk.step(3)
    assert desk.ledger.state("MR_v13").reason == "data_anomaly"  # type: ignore[union-attr]
    a = run_triage(desk)
    assert a.runbook[0] == "rounded-fills"
    cmds = commands(a)
    assert cmds[:2] == ["runner fills --variant MR_v13", "runner positions --variant MR_v13"]
    assert "runner resume MR_v13 --clear" in cmds


def test_a_retired_variant_with_a_late_fill_is_invisible_exposure(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13", style="maker")}).start()
    rep = desk.place("MR_v13", "buy", 0.01, price=desk.mid() * 0.995)
    assert rep is not None
    desk.retire("MR_v13")
    desk.step(3)
    assert desk.state("MR_v13") == "retired"
    desk.venue_fills(rep, "0.01")  # the venue fills the order after acknowledging its cancel
    desk.step(2)
    assert desk.position("MR_v13") > 0
    a = run_triage(desk)
    assert a.runbook[0] == "invisible-exposure" and "proc-reconcile" in a.runbook
    assert "runner reconcile" in commands(a)
    assert "runner audit --check retired_flat" in commands(a)
    checks = {e.get("check") for e in a.evidence if e.get("kind") == "finding"}
    assert "retired_flat" in checks  # the audit saw it too, merged into the same issue
    assert not any(c.startswith("runner retire") or c.startswith("runner resume") for c in commands(a))


def test_dust_left_by_a_retired_variant_gets_the_close_dust_procedure(desk: Desk) -> None:
    desk.start()
    desk.place("MR_v13", "buy", 0.0101)
    desk.step()
    desk.place("MR_v13", "sell", 0.01, purpose="exit")
    desk.retire("MR_v13")
    desk.step(3)
    assert desk.state("MR_v13") == "retired"
    a = run_triage(desk)
    assert "dust-and-phantom-closes" in a.runbook and "proc-close-dust" in a.runbook
    cmds = commands(a)
    assert cmds.index("runner close-dust") < cmds.index("runner close-dust --confirm")
    assert not a.problem  # dust is information, not an alarm


def test_a_pair_with_one_leg_filled_is_an_unbalanced_pair(desk: Desk) -> None:
    desk.start()
    desk.place("MR_v13", "buy", 0.01, group="pair-1")
    desk.place("MR_v13", "sell", 0.1, price=desk.mid("ETH-USD") * 1.02, group="pair-1", sym="ETH-USD")
    desk.step(3)
    a = run_triage(desk)
    assert "unbalanced-pair" in a.runbook
    assert "runner pause MR_v13" in commands(a)


def test_no_heartbeat_for_minutes_is_stale_data(desk: Desk) -> None:
    desk.start()
    a = run_triage(desk, now=datetime.now(UTC) + timedelta(minutes=5))
    assert a.runbook[0] == "stale-data"
    assert "runner run" in commands(a)


def test_an_edited_version_is_a_deploy_error_checked_with_validate(desk: Desk) -> None:
    desk.start()
    path = desk.home / "strategies.d" / "MR_v13.yaml"
    path.write_text(path.read_text().replace("entry_z: 50", "entry_z: 40"))
    desk.rt.rescan = True
    desk.step()
    a = run_triage(desk)
    assert "deploy-errors" in a.runbook
    assert any(c.startswith("runner validate ") and c.endswith("MR_v13.yaml") for c in commands(a))


def test_a_healthy_deployment_says_so(desk: Desk) -> None:
    desk.start()
    a = run_triage(desk)
    assert not a.problem
    assert a.diagnosis.startswith("Nothing wrong found") and "MR_v13 active" in a.diagnosis
    assert commands(a) == ["runner status"]


def test_ask_why_a_variant_is_quarantined_answers_for_that_variant(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13"), "MR_v14": variant_yaml("MR_v14")}).start()
    desk.sim.faults.append("reject")
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    ctx = AgentContext.open(desk.home)
    a = ask(ctx, "why is MR_v13 quarantined?")
    assert "MR_v13" in a.diagnosis and "rejected" in a.diagnosis
    assert "runner resume MR_v13 --clear" in commands(a)
    b = ask(ctx, "is anything exposed that should be flat?")
    assert b.diagnosis.startswith("No.")
    assert "runner resume MR_v13 --clear" not in commands(b)
    ctx.close()
