"""The Claude path is bounded and degrades to the offline answer, over the faked transport.

The real anthropic client talks to a scripted Messages endpoint (httpx2 mock transport):
404, 429, 500 and a dropped connection each give the offline answer with a note saying why;
the token budget and the tool result size come from runner.yaml, as do the SDK's timeout
and retries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from agent.claude import ClaudeAgent
from agent.context import AgentContext
from agent.triage import triage
from tests.agent.test_claude import FakeClaude, final, quarantined_desk, tool_use
from tests.agent.test_cli import run

REAL_CLIENT = anthropic.Anthropic
ERRORS = {404: "not_found_error", 429: "rate_limit_error", 500: "api_error"}


def failing(status: int | None, seen: list[int]) -> anthropic.Anthropic:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(1)
        if status is None:
            raise httpx2.ConnectError("connection refused", request=request)
        return httpx2.Response(status, json={"type": "error", "error": {"type": ERRORS[status],
                                                                          "message": f"scripted {status}"}})

    return REAL_CLIENT(api_key="sk-test-key-123456", max_retries=0,
                               http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


@pytest.mark.parametrize("status", [404, 429, 500, None])
def test_an_api_error_falls_back_to_the_offline_answer_and_says_so(tmp_path: Path, status: int | None) -> None:
    quarantined_desk(tmp_path).close()
    seen: list[int] = []
    ctx = AgentContext.open(tmp_path)
    try:
        a = ClaudeAgent(ctx, failing(status, seen)).triage()
        offline = triage(ctx)
    finally:
        ctx.close()
    assert seen == [1]
    assert a.source == "offline (fallback)"
    assert a.notes[0].startswith("Claude was not used: the Anthropic API failed")
    assert (f"HTTP {status}" in a.notes[0]) if status else "APIConnectionError" in a.notes[0]
    assert [c.command for c in a.commands] == [c.command for c in offline.commands]
    assert a.diagnosis == offline.diagnosis and a.problem


class Costly(FakeClaude):
    """Every turn reports ``tokens`` used (input + output)."""

    def __init__(self, turns: list[dict[str, Any]], tokens: int) -> None:
        super().__init__(turns)
        self.tokens = tokens

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        resp = super().__call__(request)
        body = json.loads(resp.content)
        body["usage"] = {"input_tokens": self.tokens - 100, "output_tokens": 100}
        return httpx2.Response(200, json=body)


def test_the_token_budget_stops_the_loop_and_falls_back(tmp_path: Path) -> None:
    quarantined_desk(tmp_path).close()
    (tmp_path / "runner.yaml").write_text("agent:\n  max_turns: 8\n  token_budget: 3000\n")
    fake = Costly([tool_use(("list_variants", {}))] * 8, tokens=1200)
    ctx = AgentContext.open(tmp_path)
    try:
        a = ClaudeAgent(ctx, fake.client()).ask("why is MR_v13 quarantined?")
    finally:
        ctx.close()
    assert len(fake.requests) == 3  # 1200, 2400, 3600 >= 3000: no fourth request
    assert a.source == "offline (fallback)" and "token budget is spent (3600 of 3000" in a.notes[0]
    assert "MR_v13 is quarantined" in a.diagnosis


def test_a_long_tool_result_is_cut_and_says_so(tmp_path: Path) -> None:
    quarantined_desk(tmp_path).close()
    (tmp_path / "runner.yaml").write_text("agent:\n  max_tool_chars: 600\n")
    fake = FakeClaude([tool_use(("runbook_section", {"section_id": "status-matrix"})),
                       final({"diagnosis": "ok", "evidence": [], "runbook": [], "commands": []})])
    ctx = AgentContext.open(tmp_path)
    try:
        ClaudeAgent(ctx, fake.client()).triage()
    finally:
        ctx.close()
    result = fake.requests[-1]["messages"][-1]["content"][0]["content"]
    assert "[cut at 600 of " in result and len(result) < 600 + 600


def test_runner_yaml_sets_the_sdk_timeout_and_retries_and_the_cli_says_it_fell_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    quarantined_desk(tmp_path).close()
    (tmp_path / "runner.yaml").write_text("agent:\n  timeout_s: 7.5\n  max_retries: 1\n")
    seen: list[int] = []
    made: list[dict[str, Any]] = []

    def make(**kw: Any) -> anthropic.Anthropic:
        made.append(kw)
        return failing(500, seen)

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key-123456")
    monkeypatch.setattr(anthropic, "Anthropic", make)
    code, out, err = run(["triage", "--home", str(tmp_path)], capsys)
    assert made[0]["timeout"] == 7.5 and made[0]["max_retries"] == 1
    assert code == 1 and "note: Claude was not used: the Anthropic API failed (InternalServerError, HTTP 500)" in out
    assert "offline (fallback) agent" in out and "runner resume MR_v13 --clear" in out
    assert "sk-test-key-123456" not in out + err


def test_claude_saying_all_is_well_gets_what_is_open_named(tmp_path: Path) -> None:
    quarantined_desk(tmp_path).close()
    fake = FakeClaude([final({"diagnosis": "Everything is healthy.", "evidence": [], "runbook": [],
                              "commands": [{"command": "runner status", "why": "look"}]})])
    ctx = AgentContext.open(tmp_path)
    try:
        a = ClaudeAgent(ctx, fake.client()).ask("is everything ok?")
    finally:
        ctx.close()
    assert a.diagnosis == "Everything is healthy. Also open: quarantined MR_v13."
    assert a.problem


def test_a_claude_answer_is_a_problem_only_when_something_is_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.kit.desk import Desk

    Desk(tmp_path).start().close()
    fake = FakeClaude([final({"diagnosis": "Start of day: status, guards, audit, dust.", "evidence": [],
                              "runbook": ["proc-start-of-day"], "commands": [{"command": "runner status",
                                                                               "why": "first"}]})])
    client = fake.client()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key-123456")
    monkeypatch.setattr(anthropic, "Anthropic", lambda **kw: client)
    code, out, _ = run(["ask", "what is the start-of-day routine?", "--json", "--home", str(tmp_path)], capsys)
    doc = json.loads(out)
    assert (code, doc["source"], doc["problem"], doc["runbook"]) == (0, "claude", False, ["proc-start-of-day"])
