"""Operator commands: pause, resume, retire (through runner.control)."""

from __future__ import annotations

import typer

from runner.cli.app import app, ctx


def _say(t) -> None:  # type: ignore[no-untyped-def]
    typer.echo(f"{t.variant}: {t.from_state} -> {t.to_state} ({t.detail})")


@app.command()
def pause(variant: str, reason: str = typer.Option("", "--reason")) -> None:
    """Stop new entries; open positions keep being managed."""
    from runner import control

    _say(control.pause(ctx().ledger(), variant, reason))


@app.command()
def resume(variant: str, clear: bool = typer.Option(False, "--clear", help="leave quarantine (resets counters)"),
           reason: str = typer.Option("", "--reason")) -> None:
    """Resume a paused variant; a quarantined one needs --clear."""
    from runner import control

    _say(control.resume(ctx().ledger(), variant, clear, reason))


@app.command()
def retire(variant: str, reason: str = typer.Option("", "--reason"),
           abandon: bool = typer.Option(False, "--abandon", help="end it now, venue unreachable: its exposure "
                                        "stays a standing finding")) -> None:
    """Cancel the variant's orders, flatten, then retire it for good (--abandon: end it now)."""
    from runner import control

    _say((control.abandon if abandon else control.retire)(ctx().ledger(), variant, reason))


@app.command()
def guards(as_json: bool = typer.Option(False, "--json")) -> None:
    """Global guards (kill switch, blackout, exposure caps): active or not, why, since when."""
    from runner.cli.app import emit_json
    from runner.readmodels.records import guards as guards_model

    rows = guards_model(ctx().reader())
    if as_json:
        emit_json({"guards": rows})
        return
    for r in rows:
        typer.echo(f"{r['name']}: {'ACTIVE' if r['active'] else 'off'} ({r['reason']}) since {r['since']}, "
                   f"release {r['release']}")


@app.command("guard-release")
def guard_release(name: str) -> None:
    """Release a guard that needs the operator (the daily-drawdown kill switch)."""
    from runner.engine.guards import release

    typer.echo(release(ctx().ledger(), name))
