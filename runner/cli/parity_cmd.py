"""`runner parity`: a recorded session backtested and compared decision by decision."""

from __future__ import annotations

from pathlib import Path

import typer

from runner.cli.app import app, ctx, emit_json


@app.command()
def parity(
    session: str = typer.Argument(..., help="a session under state/recordings/, or its directory"),
    variant: str | None = typer.Option(None, "--variant", help="only this variant"),
    file: Path | None = typer.Option(None, "--file", help="backtest this variant file instead of the recorded one"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Exit 0 when every decision is identical, 1 on any divergence, 2 on bad input."""
    from runner.engine.parity import find_session, load_replacement
    from runner.engine.parity import parity as run_parity

    c = ctx()
    venues = c.venues()
    doc = run_parity(find_session(c.home, session), venues, variant, load_replacement(file, venues))
    if as_json:
        emit_json(doc)
    else:
        typer.echo(f"session {doc['session']}")
        for v in doc["variants"]:
            causes = ", ".join(f"{k} {n}" for k, n in sorted(v["causes"].items()))
            typer.echo(f"  {v['id']}: {v['identical']} of {v['events']} decisions identical ({v['share']:.1%})"
                       + (f"; diverged on: {causes}" if causes else ""))
            if v["causes"].get("fills") and v["fills_by_nature"]:
                typer.echo(f"    fills: {v['fills_by_nature']}")
            for d in v["divergences"][:20]:
                typer.echo(f"    {d['ts']} [{d['cause']}]  live {d['live']}  backtest {d['backtest']}")
    if any(v["divergences"] for v in doc["variants"]):
        raise typer.Exit(1)


@app.command()
def replay(
    session: str = typer.Argument(..., help="a session under state/recordings/, or its directory"),
    speed: float | None = typer.Option(None, "--speed", help="recorded seconds per wall second (default: as fast as possible)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run a recorded session through the paper path (the runtime) into a fresh deployment under state/replays/."""
    from runner.engine.parity import find_session
    from runner.engine.replay import replay as run_replay

    c = ctx()
    doc = run_replay(find_session(c.home, session), c.home, c.venues(), speed)
    if as_json:
        emit_json(doc)
        return
    typer.echo(f"replayed session {doc['session']}: {doc['steps']} steps in {doc['seconds']:.1f} s -> {doc['replay']}")
    for v in doc["variants"]:
        typer.echo(f"  {v['id']}: {v['state']}, {v['fills']} fills")
    typer.echo(f"  read it with: runner --home {doc['replay']} fills; runner --home {doc['replay']} parity "
               "$(ls " + doc["replay"] + "/state/recordings)")
