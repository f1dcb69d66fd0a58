"""`runner ask` offline answers the question asked: a set of free operator questions.

One deployment built through the real runtime and sim venue holds the situations the
questions are about: MR_v13 traded and was paused by the operator, MR_v14 was quarantined by
a venue rejection, MR_v15 is in an auto-resume loop, MR_v16 holds an open position from a pair
whose second leg did not fill. Each question asserts the answer's substance, its runbook
sections and its commands in order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from agent.ask import classify
from agent.context import AgentContext
from agent.triage import ask
from runner.cli.views import positions_view, status_view
from runner.engine.guards import Guards
from runner.spec.deployment_config import DrawdownGuardSpec, GuardsSpec, RunnerConfig
from tests.kit.desk import Desk, variant_yaml

VARIANTS = {v: variant_yaml(v) for v in ("MR_v13", "MR_v14", "MR_v15", "MR_v16")}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentContext]:
    home = tmp_path_factory.mktemp("desk")
    desk = Desk(home, VARIANTS)
    desk.now = time.time()
    desk.start()
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    desk.place("MR_v13", "sell", 0.01, purpose="exit")
    desk.step()
    desk.pause("MR_v13")
    desk.sim.faults.append("reject")
    desk.place("MR_v14", "buy", 0.01)
    desk.step()
    for i in range(3):
        desk.sim.faults.append("reject")
        desk.place("MR_v15", "buy", 0.01)
        desk.step()
        if i < 2:
            desk.resume("MR_v15", clear=True)
            desk.step()
    desk.place("MR_v16", "buy", 0.01, group="pair-1")
    desk.place("MR_v16", "sell", 0.1, price=desk.mid("ETH-USD") * 1.02, group="pair-1", sym="ETH-USD")
    desk.step(2)
    assert [desk.state(v) for v in VARIANTS] == ["paused", "quarantined", "quarantined", "active"]
    desk.close()
    c = AgentContext.open(home)
    yield c
    c.close()


def cmds(a) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.command for c in a.commands]


def test_what_did_a_variant_do_in_the_last_hour(ctx: AgentContext) -> None:
    a = ask(ctx, "what did MR_v13 do in the last hour?")
    assert a.diagnosis.startswith("MR_v13 in the last hour: 2 order(s) (2 filled), 2 fill(s)")
    assert "active -> paused (operator" in a.diagnosis
    assert cmds(a)[:2] == ["runner events MR_v13", "runner fills --variant MR_v13"]
    ev = next(e for e in a.evidence if e.get("kind") == "activity")
    assert ev["fills"] == 2 and [f["side"] for f in ev["last_fills"]] == ["buy", "sell"]


def test_a_variant_named_without_its_version_is_its_newest_live_version(ctx: AgentContext) -> None:
    a = ask(ctx, "what did MR do in the last 2 hours?")
    assert a.diagnosis.startswith("MR_v16 in the last 2 hours:")


def test_pnl_today_adds_up_the_variants(ctx: AgentContext) -> None:
    a = ask(ctx, "PnL today?")
    rows = status_view(ctx.ledger)["variants"]
    total = sum(r["pnl_today"] for r in rows)
    assert a.diagnosis.startswith(f"PnL today (UTC, marked, net of fees): {total:+.2f}")
    assert "MR_v13" in a.diagnosis and "currency" in a.diagnosis
    assert cmds(a)[0] == "runner status"


def test_pnl_of_one_variant_over_a_period(ctx: AgentContext) -> None:
    a = ask(ctx, "how much did MR_v13 make in the last 3 hours?")
    assert a.diagnosis.startswith("PnL in the last 3 hours (marked, net of fees):") and "MR_v13" in a.diagnosis
    assert "MR_v14" not in a.diagnosis.split("Also open")[0]


def test_open_positions_are_listed_with_their_mark(ctx: AgentContext) -> None:
    a = ask(ctx, "open positions?")
    held = [p for p in positions_view(ctx.ledger) if p["qty"]]
    assert a.diagnosis.startswith(f"{len(held)} open position(s): MR_v16 0.01 BTC-USD")
    assert "mark" in a.diagnosis
    assert cmds(a)[0] == "runner positions"


def test_open_positions_are_marked_at_the_recorded_mid_not_the_fill(ctx: AgentContext) -> None:
    from decimal import Decimal

    from runner.ledger.marks import latest_marks

    a = ask(ctx, "what are we holding?")
    [pos] = [e for e in a.evidence if e.get("kind") == "position"]
    _quote, mid, _ts = latest_marks(ctx.ledger)[("sim", pos["instrument"])]
    assert Decimal(str(pos["mark"])) == mid != Decimal(str(pos["avg_price"]))  # the mid, not the fill price
    assert pos["unrealized_pnl"] == pytest.approx(float((mid - Decimal(str(pos["avg_price"]))) * Decimal("0.01")))
    assert f"(mark {pos['mark']}" in a.diagnosis


def test_what_changed_since_yesterday(ctx: AgentContext) -> None:
    a = ask(ctx, "what changed since yesterday?")
    assert "since yesterday (UTC)" in a.diagnosis and "4 deploy(s)" in a.diagnosis
    assert "MR_v13 active -> paused (operator, operator)" in a.diagnosis or "quarantined" in a.diagnosis
    assert cmds(a)[:2] == ["runner events", "runner audit"]


def test_can_i_resume_a_paused_variant(ctx: AgentContext) -> None:
    a = ask(ctx, "can I resume MR_v13?")
    assert a.diagnosis.startswith("Yes: MR_v13 is paused; `runner resume MR_v13` takes it to active")
    assert cmds(a)[:2] == ["runner events MR_v13", "runner resume MR_v13"]
    assert a.commands[1].acts and not a.commands[0].acts
    assert a.runbook[0] == "proc-pause"


def test_can_i_resume_a_quarantined_variant_names_the_clear_and_its_condition(ctx: AgentContext) -> None:
    a = ask(ctx, "can I resume MR_v14?")
    assert a.diagnosis.startswith("Yes: MR_v14 is quarantined; `runner resume MR_v14 --clear`")
    assert "Only once the cause of the quarantine is fixed" in a.diagnosis
    assert cmds(a)[:2] == ["runner events MR_v14", "runner resume MR_v14 --clear"]
    assert a.runbook[0] == "proc-clear-quarantine"


def test_should_i_resume_again_inside_a_loop_is_no(ctx: AgentContext) -> None:
    a = ask(ctx, "should I resume MR_v15 again?")
    assert a.diagnosis.startswith("No. MR_v15 is in an auto-resume loop")
    assert not any("resume" in c for c in cmds(a))
    assert cmds(a)[:2] == ["runner events MR_v15", "runner retire MR_v15"]
    assert a.runbook[0] == "auto-resume-loop"


def test_can_i_pause_a_paused_variant_is_no(ctx: AgentContext) -> None:
    a = ask(ctx, "can I pause MR_v13?")
    assert a.diagnosis.startswith("No: `pause` from paused is refused by the lifecycle table")
    assert not any(c.startswith("runner pause") for c in cmds(a))


def test_can_i_retire_an_active_variant(ctx: AgentContext) -> None:
    a = ask(ctx, "is it safe to retire MR_v16?")
    assert a.diagnosis.startswith("Yes: MR_v16 is active; `runner retire MR_v16` takes it to retiring")
    assert cmds(a)[:2] == ["runner events MR_v16", "runner retire MR_v16"]


def test_does_the_ledger_agree_with_the_venue(ctx: AgentContext) -> None:
    a = ask(ctx, "does the ledger agree with the venue?")
    assert a.diagnosis.startswith("Yes: the ledger agrees with the venues")
    assert "Also open:" in a.diagnosis and a.problem  # health is never claimed while something is open


def test_is_the_kill_switch_on(ctx: AgentContext) -> None:
    a = ask(ctx, "is the kill switch on?")
    assert a.diagnosis.startswith("No guard is active; none is configured.")
    assert a.runbook == ["guards"] and cmds(a)[0] == "runner guards"


def test_can_i_release_the_kill_switch_when_it_is_not_tripped(ctx: AgentContext) -> None:
    a = ask(ctx, "can I release the kill switch?")
    assert a.diagnosis.startswith("No: the kill switch (daily_drawdown) is not tripped")
    assert not any("guard-release" in c for c in cmds(a))


def test_is_the_pair_balanced_nets_legs_per_instrument(ctx: AgentContext) -> None:
    a = ask(ctx, "is the MR_v16 pair balanced?")
    assert a.diagnosis.startswith("MR_v16 is NOT balanced: group pair-1 of MR_v16 is unbalanced")
    assert cmds(a)[:3] == ["runner positions --variant MR_v16", "runner pause MR_v16",
                           "runner audit --check groups_balanced"]
    assert a.runbook[0] == "unbalanced-pair" and a.problem


def test_a_variant_without_groups_has_nothing_to_balance(ctx: AgentContext) -> None:
    a = ask(ctx, "is the MR_v13 pair balanced?")
    assert a.diagnosis.startswith("MR_v13 has no multi-leg group: nothing to balance.")


def test_is_anything_exposed_that_should_be_flat(ctx: AgentContext) -> None:
    a = ask(ctx, "is anything exposed that should be flat?")
    assert a.diagnosis.startswith("Yes: MR_v16 has an unbalanced group")


def test_start_of_day_routine_is_the_runbook_procedure(ctx: AgentContext) -> None:
    a = ask(ctx, "what is the start-of-day routine?")
    assert a.runbook[0] == "proc-start-of-day"
    assert cmds(a)[:4] == ["runner status", "runner guards", "runner audit", "runner dust"]


def test_who_to_call_is_the_escalation_section(ctx: AgentContext) -> None:
    a = ask(ctx, "when do I stop everything and who do I call?")
    assert a.runbook[0] == "escalation" and "Escalation" in a.diagnosis


def test_how_to_change_a_risk_limit(ctx: AgentContext) -> None:
    a = ask(ctx, "how do I change a risk limit?")
    assert a.runbook[0] == "proc-change-risk-limit"
    assert "new version" in a.diagnosis or "version" in a.diagnosis


def test_why_is_a_variant_quarantined_is_the_incident_for_that_variant(ctx: AgentContext) -> None:
    a = ask(ctx, "why is MR_v14 quarantined?")
    assert "MR_v14 is quarantined: the venue rejected its order" in a.diagnosis
    assert "MR_v15" not in a.diagnosis
    assert cmds(a)[0] == "runner events MR_v14" and cmds(a)[-1] == "runner resume MR_v14 --clear"


def test_is_everything_ok_never_claims_health_while_something_is_open(ctx: AgentContext) -> None:
    a = ask(ctx, "is everything ok?")
    assert not a.diagnosis.startswith("Nothing wrong") and a.problem
    assert "auto-resume-loop" in a.runbook and "unbalanced-pair" in a.runbook
    assert "runner resume MR_v15 --clear" not in cmds(a)


def test_is_it_safe_to_close_the_dust_with_none(ctx: AgentContext) -> None:
    a = ask(ctx, "is it safe to close the dust?")
    assert a.diagnosis.startswith("There is no dust to close.")
    assert "runner close-dust --confirm" not in cmds(a)


@pytest.mark.parametrize(("question", "cls"), [
    ("what did MR_v13 do in the last hour?", "activity"), ("PnL today?", "pnl"), ("open positions?", "positions"),
    ("what changed since yesterday?", "change"), ("is the funding-arb pair balanced?", "balance"),
    ("start-of-day routine?", "procedure"), ("can I resume MR_v13?", "action"),
    ("does the ledger agree with the venue?", "drift"), ("why is nothing trading?", "guards"),
    ("why is MR_v13 quarantined?", "incident"), ("is the runner alive?", "runner"),
    ("what is MMTV doing?", "activity"), ("why is MR_v13 not trading?", "incident"),
])
def test_questions_are_classified_by_what_they_ask(question: str, cls: str) -> None:
    assert classify(question) == cls


def test_a_tripped_kill_switch_is_never_nothing_wrong(tmp_path: Path) -> None:
    cfg = RunnerConfig(guards=GuardsSpec(daily_drawdown=DrawdownGuardSpec(max_loss=0.01)))
    desk = Desk(tmp_path, config=cfg)
    desk.now = time.time()
    desk.start()
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    desk.place("MR_v13", "sell", 0.01, purpose="exit")
    desk.step(3)  # the round trip's fees are a loss beyond 0.01: the kill switch trips
    assert Guards(desk.ledger, cfg.guards, tmp_path).recorded().get("daily_drawdown")
    desk.close()
    c = AgentContext.open(tmp_path)
    from agent.triage import triage

    t = triage(c)
    ok = ask(c, "is everything ok?")
    why = ask(c, "why is nothing trading?")
    release = ask(c, "can I release the kill switch?")
    c.close()
    assert t.problem and "kill switch is tripped" in t.diagnosis
    assert t.runbook[:2] == ["guards", "guard-kill-switch"]
    assert cmds(t) == ["runner guards", "runner status", "runner positions", "runner guard-release daily_drawdown"]
    assert "kill switch is tripped" in ok.diagnosis and not ok.diagnosis.startswith("Nothing wrong")
    assert why.diagnosis.startswith("Active guard(s): daily_drawdown") and why.runbook == ["guards", "guard-kill-switch"]
    assert release.diagnosis.startswith("Only once the day's loss is understood")
    assert cmds(release)[:3] == ["runner status", "runner positions", "runner guard-release daily_drawdown"]


def test_does_the_ledger_agree_is_no_while_a_drift_is_open(tmp_path: Path) -> None:
    from tests.agent.test_safety_gate import drift_desk

    drift_desk(tmp_path).close()
    c = AgentContext.open(tmp_path)
    a = ask(c, "does the ledger agree with the venue?")
    c.close()
    assert a.diagnosis.startswith("No: ") and "sim BTC-USD: venue holds 0.0201, ledger 0.0001" in a.diagnosis
    assert a.runbook[:2] == ["ledger-vs-venue", "proc-reconcile"] and a.problem
    assert cmds(a)[:2] == ["runner audit --check ledger_vs_venue", "runner reconcile"]
    assert a.commands[1].acts.startswith("writes the ledger") and not a.commands[0].acts


def test_a_variant_typed_with_a_space_or_the_word_version_is_matched(ctx: AgentContext) -> None:
    from agent.ask import match_variants

    assert match_variants(ctx, "what did mr v14 do today?") == ["MR_v14"]
    assert match_variants(ctx, "PnL of MR version 13?") == ["MR_v13"]


def test_is_the_runner_alive(ctx: AgentContext) -> None:
    a = ask(ctx, "is the runner alive?")
    assert a.diagnosis.startswith("Yes: runner ") and "(stale after 15s)" in a.diagnosis
    assert cmds(a)[0] == "runner status" and a.runbook == ["stale-data"]
    later = AgentContext.open(ctx.home, now=ctx.now + timedelta(minutes=10))
    b = ask(later, "is the runner alive?")
    resume = ask(later, "can I resume MR_v13?")
    later.close()
    assert resume.diagnosis.startswith("Yes: MR_v13 is paused") and "no runner is running" in resume.diagnosis
    assert "no runner is running" not in ask(ctx, "can I resume MR_v13?").diagnosis
    assert b.diagnosis.startswith("No: the last heartbeat") and "beyond 15s" in b.diagnosis
    assert cmds(b)[:2] == ["runner status", "runner run"] and b.commands[1].acts


def test_a_variant_or_kind_that_is_not_deployed_is_said_not_answered_about_another(ctx: AgentContext) -> None:
    a = ask(ctx, "is the funding-arb pair balanced?")
    assert a.diagnosis.startswith("No funding_arb variant is deployed here (deployed: MR_v13, MR_v14, MR_v15, MR_v16)")
    assert "MR_v16 is NOT balanced" not in a.diagnosis and cmds(a)[0] == "runner status"
    b = ask(ctx, "can I resume MR_v99?")
    assert b.diagnosis.startswith("MR_v99 is not deployed here") and not any("resume" in c for c in cmds(b))
    c = ask(ctx, "what did MMTV do in the last hour?")
    assert c.diagnosis.startswith("No market_making variant is deployed here")


def test_a_pair_named_by_its_kind_is_that_variant(tmp_path: Path) -> None:
    from tests.engine.test_kinds_groups import KALSHI_YAML

    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML, "MR_v13": variant_yaml("MR_v13")})
    desk.start(steps=2)
    desk.close()
    c = AgentContext.open(tmp_path)
    try:
        a = ask(c, "is the YES/NO pair balanced?")
        b = ask(c, "what did the binary arb do in the last hour?")
    finally:
        c.close()
    assert a.diagnosis.startswith(("Kalshi-sum_v7 is balanced", "Kalshi-sum_v7 has no multi-leg")), a.diagnosis
    assert b.diagnosis.startswith("Kalshi-sum_v7 in the last hour:") and "MR_v13" not in b.diagnosis
