"""`runner triage` and `runner ask` on the command line: JSON shape, exit codes, no key needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from tests.kit.desk import Desk


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_triage_json_has_the_stable_shape_and_exits_1_on_a_problem(desk: Desk,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    desk.start()
    desk.sim.faults.append("reject")
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    code, out, _ = run(["triage", "MR_v13", "--json", "--home", str(desk.home)], capsys)
    doc = json.loads(out)
    assert code == 1
    assert {"diagnosis", "evidence", "runbook", "commands"} <= set(doc)
    assert all({"command", "why", "acts"} <= set(c) for c in doc["commands"])  # acts: the safety gate's mark
    assert {"command": "runner resume MR_v13 --clear", "acts": True}.items() <= doc["commands"][-1].items()
    assert not doc["commands"][0]["acts"]  # a read comes first


def test_triage_on_a_fresh_directory_is_useful_offline_and_creates_nothing(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["triage", "--home", str(tmp_path)], capsys)
    assert code == 0
    assert "runner run" in out and "fresh deployment" in out
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_variant_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["triage", "NOPE_v1", "--home", str(tmp_path)], capsys)
    assert code == 2 and "unknown variant" in err


def test_ask_prints_a_human_answer(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.start()
    code, out, _ = run(["ask", "is anything exposed that should be flat?", "--home", str(desk.home)], capsys)
    assert code == 0
    assert out.startswith("No.") and "nothing was changed" in out


def test_ask_exits_0_when_healthy_and_1_when_the_answer_names_a_problem(desk: Desk,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    desk.start()
    home = ["--home", str(desk.home)]
    code, out, _ = run(["ask", "PnL today?", "--json", *home], capsys)
    assert code == 0 and json.loads(out)["problem"] is False
    code, out, _ = run(["ask", "what is the start-of-day routine?", *home], capsys)
    assert code == 0 and "proc-start-of-day" in out  # a procedure cited is not a problem
    desk.sim.faults.append("reject")
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    code, out, _ = run(["ask", "PnL today?", "--json", *home], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["problem"] is True
    assert doc["diagnosis"].startswith("PnL today") and "Also open: MR_v13 is quarantined" in doc["diagnosis"]
    code, out, _ = run(["ask", "can I resume MR_v13?", *home], capsys)
    assert code == 1 and out.startswith("Yes: MR_v13 is quarantined")  # answered, and the quarantine is open
