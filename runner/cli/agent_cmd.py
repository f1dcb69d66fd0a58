"""`runner triage` and `runner ask`: the operator agent, on Claude with a key, offline without.

Thin: the agent package does the work. ``anthropic`` is imported only when
``ANTHROPIC_API_KEY`` is set, so the offline path needs no network and no SDK import.
"""

from __future__ import annotations

import os
import sys

import typer

from runner.cli.app import app, ctx, emit_json

JSON = typer.Option(False, "--json", help="one JSON document on stdout")


def _agent_answer(variant: str | None = None, question: str | None = None):  # type: ignore[no-untyped-def]
    from agent.context import AgentContext
    from runner.errors import BadInputError

    c = ctx()  # no deployment check: on an empty directory triage says how to start one
    actx = AgentContext.open(c.home, c.db)
    try:
        if variant and variant not in actx.variant_ids():
            raise BadInputError(f"unknown variant {variant!r} (deployed: {', '.join(actx.variant_ids()) or 'none'})")
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            from agent import triage as offline

            return offline.ask(actx, question) if question is not None else offline.triage(actx, variant)
        import anthropic

        from agent.claude import ClaudeAgent

        spec = actx.config.agent
        client = anthropic.Anthropic(api_key=key, timeout=spec.timeout_s, max_retries=spec.max_retries)
        agent = ClaudeAgent(actx, client)  # an API error or a malformed answer: the offline answer, said
        return agent.ask(question) if question is not None else agent.triage(variant)
    finally:
        actx.close()


def _show(answer, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    doc = answer.to_json()  # every string escaped: venue and ledger text cannot fake lines
    if as_json:
        emit_json(doc)
        return
    out = [doc["diagnosis"], ""]
    if doc["evidence"]:
        out.append("Evidence:")
        out += [f"  - {_line(e)}" for e in doc["evidence"][:20]]
        if len(doc["evidence"]) > 20:
            out.append(f"  ... {len(doc['evidence']) - 20} more (--json for all)")
    if doc["runbook"]:
        out.append("Runbook: " + ", ".join(doc["runbook"]) + "  (runbook/*.md, headings marked {#id})")
    if doc["commands"]:
        out.append("Run, in order:")
        out += [f"  {i}. {c['command']}" + (f"   [{c['changes']}]" if c["acts"] else "   [reads only]")
                + f"\n       # {c['why']}" for i, c in enumerate(doc["commands"], 1)]
    for n in doc["notes"]:
        out.append(f"note: {n}")
    out.append(f"({doc['source']} agent; it only reads: nothing was changed)")
    sys.stdout.write("\n".join(out) + "\n")


def _line(e) -> str:  # type: ignore[no-untyped-def]
    import json

    from agent.safety import escape

    if isinstance(e, dict):
        return "; ".join(f"{k}={json.dumps(v, default=str) if not isinstance(v, str) else escape(v)}"
                         for k, v in e.items())
    return escape(str(e))


@app.command()
def triage(variant: str = typer.Argument(None, help="one variant (default: the whole deployment)"),
           as_json: bool = JSON) -> None:
    """What is wrong, the evidence, the runbook sections and the commands to run. Reads only.

    Exit 0 when nothing at warning or above is open (information such as dust, a blackout or
    a full exposure cap is named but exits 0); exit 1 when something is; exit 2 on bad input.
    """
    answer = _agent_answer(variant=variant)
    _show(answer, as_json)
    if answer.problem:
        raise typer.Exit(1)


@app.command()
def ask(question: str = typer.Argument(..., help='e.g. "why is MR_v13 quarantined?"'), as_json: bool = JSON) -> None:
    """Answer a free question from the ledger, the audits and the runbook. Reads only.

    Exit 0 when the answer names no problem; exit 1 when it names one: anything open at warning
    or above (a finding, a quarantine, a tripped kill switch, a drift, an unbalanced pair, an
    auto-resume loop, a runner down), as `runner triage`; exit 2 on bad input.
    """
    answer = _agent_answer(question=question)
    _show(answer, as_json)
    if answer.problem:
        raise typer.Exit(1)
