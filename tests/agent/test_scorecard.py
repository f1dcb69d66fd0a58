"""The agent measured on 19 incident classes, each built through the engine (tests/kit/incidents.py).

Per scenario, 3 triage points (the diagnosis names it, the runbook sections cited first, the
exact commands in order) and 5 `ask` points (four ways of asking what is wrong, each giving
that diagnosis with the same problem flag, first command and no section the triage does not
cite, and "can I resume MR_v13?" answered from the lifecycle table and the state). The README reports the score: every point
here is an assertion, so the suite passing means 57/57 and 95/95.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from agent.answer import Answer
from agent.context import AgentContext
from agent.triage import ask, triage
from tests.kit.incidents import SCENARIOS

EVENTS, POS, CLEAR = "runner events MR_v13", "runner positions --variant MR_v13", "runner resume MR_v13 --clear"
ACTIVE = "No: `resume` from active is refused by the lifecycle table; it is already active"
RETIRED = "No: `resume` from retired is refused by the lifecycle table; it is retired for good"
QUARANTINED = "Yes: MR_v13 is quarantined; `runner resume MR_v13 --clear` takes it to active"


@dataclass(frozen=True)
class Expect:
    problem: bool
    diagnosis: str  # a part of the diagnosis that names the incident
    sections: tuple[str, ...]  # the first runbook sections cited, in order
    commands: tuple[str, ...]  # every command, in order ({home}: the deployment directory)
    resume: str  # how "can I resume MR_v13?" is answered (its start)


EXPECT = {
    "rejected": Expect(True, "MR_v13 is quarantined: the venue rejected its order",
                       ("quote-drift-out-of-band", "proc-clear-quarantine"), (EVENTS, POS, CLEAR), QUARANTINED),
    "loop": Expect(True, "MR_v13 was quarantined 3 times and cleared in between",
                   ("auto-resume-loop", "proc-clear-quarantine"), (EVENTS, POS, "runner retire MR_v13"),
                   "No. MR_v13 is in an auto-resume loop"),
    "risk_block": Expect(True, "MR_v13 is quarantined: its own risk limit refused an entry",
                         ("risk-block", "proc-change-risk-limit", "proc-clear-quarantine"), (EVENTS, POS, CLEAR),
                         QUARANTINED),
    "outage_backoff": Expect(True, "MR_v13 is in backoff after a transient venue error; it resumes by itself",
                             ("venue-outage-and-ambiguous-orders",), ("runner venues check", EVENTS),
                             "No: `resume` from backoff is refused by the lifecycle table; it is backing off"),
    "outage_quarantined": Expect(True, "MR_v13 is quarantined: transient venue errors reached the retry limit",
                                 ("venue-outage-and-ambiguous-orders", "proc-clear-quarantine"),
                                 ("runner venues check", "runner reconcile", CLEAR), QUARANTINED),
    "ambiguous": Expect(False, "1 ambiguous submit(s) resolved by client order id",
                        ("venue-outage-and-ambiguous-orders",), (EVENTS,), ACTIVE),
    "rounded_fill": Expect(True, "MR_v13 is quarantined: a fill differed from its order beyond tolerance",
                           ("rounded-fills", "proc-clear-quarantine"),
                           ("runner fills --variant MR_v13", POS, "runner reconcile", CLEAR), QUARANTINED),
    "invisible_exposure": Expect(True, "MR_v13 is retired but holds 0.01 BTC-USD (more than dust)",
                                 ("invisible-exposure", "proc-reconcile"),
                                 (POS, "runner reconcile", "runner audit --check retired_flat", "runner close-dust"),
                                 RETIRED),
    "dust": Expect(False, "dust left on MR_v13", ("dust-and-phantom-closes", "proc-close-dust"),
                   ("runner dust", "runner close-dust", "runner close-dust --confirm"), RETIRED),
    "unbalanced_pair": Expect(True, "group pair-1 of MR_v13 is unbalanced: BTC-USD 0.01, ETH-USD 0",
                              ("unbalanced-pair",),
                              (POS, "runner fills --variant MR_v13", "runner pause MR_v13",
                               "runner audit --check groups_balanced"), ACTIVE),
    "runner_down": Expect(True, "the runner is down, so open positions are not managed", ("stale-data",),
                          ("runner status", "runner run", "runner venues check", "runner audit --check freshness"),
                          ACTIVE),
    "deploy_error": Expect(True, "MR_v13.yaml did not deploy", ("deploy-errors",),
                           ("runner validate {home}/strategies.d/MR_v13.yaml",), ACTIVE),
    "kill_switch": Expect(True, "the daily-loss kill switch is tripped", ("guards", "guard-kill-switch"),
                          ("runner guards", "runner status", "runner positions", "runner guard-release daily_drawdown"),
                          ACTIVE),
    "drift": Expect(True, "sim BTC-USD: venue holds 0.02, ledger 0", ("ledger-vs-venue", "proc-reconcile"),
                    ("runner status", "runner reconcile", "runner audit --check ledger_vs_venue"), ACTIVE),
    "blackout": Expect(False, "a blackout is in force (CPI at", ("guards", "guard-blackout"), ("runner guards",),
                       ACTIVE),
    "exposure_cap": Expect(False, "exposure cap exposure:btc is full (1/1 positions: MR_v13)",
                           ("guards", "guard-exposure-cap"), ("runner guards", "runner positions"), ACTIVE),
    "paused": Expect(False, "MR_v13 is paused by an operator", ("proc-pause",), (EVENTS, "runner resume MR_v13"),
                     "Yes: MR_v13 is paused; `runner resume MR_v13` takes it to active"),
    "healthy": Expect(False, "Nothing wrong found", ("status-matrix",), ("runner status",), ACTIVE),
    "fresh": Expect(False, "fresh deployment: no variant files", ("status-matrix",), ("runner status", "runner run"),
                    "Which variant? Name one of: none deployed."),
}
INCIDENT_QUESTIONS = ("what is wrong?", "is everything ok?", "what should I do now?", "why is MR_v13 not trading?")


def cmds(a: Answer) -> tuple[str, ...]:
    return tuple(c.command for c in a.commands)


def score(name: str, home: Path, now: datetime | None) -> tuple[list[str], list[str]]:
    """The triage points and the ask points missed, each said."""
    want = EXPECT[name]
    commands = tuple(c.format(home=home) for c in want.commands)
    ctx = AgentContext.open(home, now=now)
    try:
        t = triage(ctx)
        missed_t = [f"triage {what}: {got!r}" for what, ok, got in (
            ("diagnosis", want.diagnosis in t.diagnosis and t.problem == want.problem, (t.diagnosis, t.problem)),
            ("sections", tuple(t.runbook[:len(want.sections)]) == want.sections, t.runbook),
            ("commands", cmds(t) == commands, cmds(t)),
        ) if not ok]
        missed_a = []
        for q in INCIDENT_QUESTIONS:
            a = ask(ctx, q)
            healthy_claim = a.diagnosis.startswith("Nothing wrong") and want.problem
            off_topic = set(a.runbook) - set(t.runbook)  # a generic question cites what the triage cites
            if want.diagnosis not in a.diagnosis or a.problem != want.problem or healthy_claim \
                    or cmds(a)[:1] != commands[:1] or off_topic:
                missed_a.append(f"ask {q!r}: {a.diagnosis[:160]!r} problem={a.problem} {cmds(a)} {a.runbook}")
        r = ask(ctx, "can I resume MR_v13?")
        unsafe = CLEAR in cmds(r) and name == "loop"
        if not r.diagnosis.startswith(want.resume) or unsafe or (want.problem and not r.problem):
            missed_a.append(f"ask 'can I resume MR_v13?': {r.diagnosis[:160]!r} problem={r.problem} {cmds(r)}")
    finally:
        ctx.close()
    return missed_t, missed_a


def test_every_incident_class_has_a_builder_and_an_expectation() -> None:
    assert set(SCENARIOS) == set(EXPECT) and len(EXPECT) == 19


@pytest.mark.parametrize("name", list(EXPECT))
def test_triage_and_ask_get_every_point_of_the_scenario(tmp_path: Path, name: str) -> None:
    home = tmp_path / "desk"
    now = SCENARIOS[name](home)
    missed_t, missed_a = score(name, home, now)
    assert not missed_t + missed_a, "\n".join(missed_t + missed_a)
