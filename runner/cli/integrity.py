"""Ledger integrity commands: audit, dust, close-dust, reconcile (thin over runner.audit)."""

from __future__ import annotations

import typer

from runner.cli.app import app, ctx, emit_json

JSON = typer.Option(False, "--json", help="one JSON document on stdout")


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    from runner.cli.read import _table as table

    table(title, columns, rows)


def _findings_out(findings, as_json: bool, extra: dict | None = None) -> None:  # type: ignore[no-untyped-def,type-arg]
    from runner.audit.reconcile import finding_json

    if as_json:
        emit_json({**(extra or {}), "findings": [finding_json(f) for f in findings]})
        return
    if not findings:
        typer.echo("no findings")
        return
    _table("findings", ["severity", "check", "variant", "summary", "runbook"],
           [[f.severity.value, f.check, f.variant or "-", f.summary, f.runbook] for f in findings])


def _exit_for(findings) -> None:  # type: ignore[no-untyped-def]
    from runner.audit.reconcile import has_problem

    if has_problem(findings):
        raise typer.Exit(1)


@app.command()
def audit(check: list[str] = typer.Option(None, "--check", help="run only this check (repeatable)"),
          as_json: bool = JSON) -> None:
    """Run the audit checks once and record the findings; changes no variant (the running runner
    acts on confirmed findings). Exit 1 when a finding at warning or above exists."""
    from runner.audit.run import check_names, run_checks

    c = ctx()
    names = check_names(check)  # bad names exit 2 before touching anything
    findings = run_checks(c.ledger(), c.venues(), c.home, names, actor="operator", act=False)
    _findings_out(findings, as_json)
    _exit_for(findings)


@app.command()
def dust(as_json: bool = JSON) -> None:
    """Dust positions (too small to close with one order), retired variants included."""
    from runner.readmodels.dust import fragments

    frags = fragments(ctx().reader())
    if as_json:
        emit_json({"dust": [f.as_json() for f in frags]})
        return
    if not frags:
        typer.echo("no dust")
        return
    _table("dust", ["venue", "instrument", "variant", "state", "qty", "value", "age_s"],
           [[f.venue, f.instrument, f.variant, f.state, f.qty, f"{f.value:.4f}",
             "" if f.age_s is None else f"{f.age_s:.0f}"] for f in frags])


@app.command("close-dust")
def close_dust(confirm: bool = typer.Option(False, "--confirm", help="execute the plan (default: print it only)"),
               as_json: bool = JSON) -> None:
    """Plan closing dust per account and instrument; --confirm executes it (recorded as close_dust)."""
    from runner import control

    c = ctx()
    items, outcomes = control.close_dust(c.ledger(), c.venues(), c.home, confirm)
    if as_json:
        emit_json({"plan": [i.as_json() for i in items], "confirmed": confirm,
                   "executed": [o.as_json() for o in outcomes]})
    elif not items:
        typer.echo("no dust: nothing to do")
    else:
        _table("close-dust plan", ["venue", "instrument", "variants", "net", "action", "plan"],
               [[i.account, i.instrument, ", ".join(f.variant for f in i.fragments), i.net, i.action, i.note]
                for i in items])
        if outcomes:
            _table("executed", ["venue", "instrument", "status", "order", "filled", "flattened", "detail"],
                   [[o.account, o.instrument, o.status, (o.client_order_id or "")[:12], o.filled,
                     ", ".join(o.flattened), o.detail] for o in outcomes])
        else:
            typer.echo("nothing was changed; run `runner close-dust --confirm` to execute this plan")
    if any(o.status in ("failed", "partial") for o in outcomes):
        raise typer.Exit(1)


@app.command()
def reconcile(as_json: bool = JSON) -> None:
    """Adopt venue fills the ledger missed and report unexplained differences; never sends orders."""
    from runner.audit.reconcile import reconcile as run

    c = ctx()
    res = run(c.ledger(), c.venues(), c.home, actor="operator")
    if as_json:
        emit_json(res.as_json())
    else:
        if res.adopted:
            _table("adopted fills", ["variant", "instrument", "side", "qty", "price", "fill"],
                   [[f.variant, f.instrument, f.side, f.qty, f.price, f.fill_key] for f in res.adopted])
        else:
            typer.echo("no missed fills")
        _findings_out(res.findings, False)
    _exit_for(res.findings)
