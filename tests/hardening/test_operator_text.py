"""Operator and venue text is printed as text, never parsed as console markup.

`runner pause MR_v13 --reason "waiting for [/] CPI print"` used to crash the running runner
(rich's markup parser) and `runner status`. Here the text goes through the real runtime, the
real reporter and the real CLI.
"""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from runner import control
from runner.engine.report import Reporter
from runner.ledger.models import Transition
from runner.lifecycle import State
from tests.kit.desk import Desk
from tests.kit.process import cli

HOSTILE = ["waiting for [/] CPI print", "[/x]", "[bold]unclosed", "a\\", "[link=file:///etc/passwd]x[/link]", "[[/]]"]


def _reporter() -> tuple[Reporter, io.StringIO]:
    out = io.StringIO()
    return Reporter(Console(file=out, highlight=False, soft_wrap=True, width=200)), out


def test_a_pause_reason_with_markup_is_printed_by_the_running_runner(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    rep, out = _reporter()
    desk.rt.reporter = rep
    desk.rt.life.after = rep.transition
    for reason in HOSTILE:
        control.pause(desk.ledger, "MR_v1", reason)
        desk.step()
        control.resume(desk.ledger, "MR_v1", reason=reason)
        desk.step()
        assert reason in out.getvalue()
    rep.summary(list(desk.rt.engines.values()))
    desk.trade("MR_v1", "buy", "0.01")
    assert desk.ledger.state("MR_v1").state == State.ACTIVE  # type: ignore[union-attr]
    desk.close()


def test_status_prints_a_reason_with_markup(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    desk.close()
    res = cli(desk.home, "pause", "MR_v1", "--reason", "waiting for [/] CPI print")
    assert res.returncode == 0, res.stderr
    res = cli(desk.home, "status")
    assert res.returncode == 0, res.stderr
    assert "[/]" in res.stdout and "Traceback" not in res.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_the_reporter_prints_any_text_verbatim(text: str) -> None:
    rep, out = _reporter()
    rep.info(text)
    rep.error(text)
    rep.transition(Transition(variant=text or "v", from_state="active", to_state="paused", trigger="pause",
                              reason=text, detail=text, actor="operator"))
    printable = text.strip()
    if printable and all(ch.isprintable() for ch in printable):
        assert printable in out.getvalue()
