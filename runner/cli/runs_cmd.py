"""`runner runs`: the backtest runs stored in state/backtests.db: list, show, delete."""

from __future__ import annotations

import typer

from runner.cli.app import app, ctx, emit_json

runs_app = typer.Typer(help="Backtest runs (state/backtests.db): list (default), show RUN, delete RUN.",
                       invoke_without_command=True)
app.add_typer(runs_app, name="runs")
JSON = typer.Option(False, "--json", help="one JSON document on stdout")


def _urls() -> list[str]:
    """Where runs are: state/backtests.db, then the live ledger (runs stored before they moved out;
    `runner runs delete` clears them from there too)."""
    from runner.ledger.paths import backtests_url, default_url

    c = ctx()
    c.require_deployment()
    return [backtests_url(c.home), c.db or default_url(c.home)]


def _read(fn, *args):  # type: ignore[no-untyped-def]
    """``fn(db, *args)`` on each store in turn; a list is concatenated, anything else is the first found."""
    from runner.readmodels.runs import open_runs

    out: list = []  # type: ignore[type-arg]
    for url in _urls():
        db = open_runs(url)
        try:
            got = fn(db, *args)
        finally:
            if db is not None:
                db.close()
        if isinstance(got, list):
            out += got
        elif got is not None:
            return got
    return out if out or fn.__name__ == "list_runs" else None


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


@runs_app.callback()
def runs(click_ctx: typer.Context, limit: int = typer.Option(0, "--limit", help="the newest N (default: all)"),
         as_json: bool = JSON) -> None:
    """List the backtest runs, newest first, with their headline metrics."""
    if click_ctx.invoked_subcommand is not None:
        return
    from runner.marketdata.session_names import latest
    from runner.readmodels.runs import list_runs

    rows = sorted(_read(list_runs, limit), key=lambda r: r["started"] or "", reverse=True)
    rows = rows[:limit] if limit else rows
    session = latest(ctx().home / "state" / "recordings")  # the paper/live recording: `runner parity SESSION`
    if as_json:
        emit_json({"runs": rows, "session": session})
        return
    if session:
        typer.echo(f"recording session {session} (state/recordings/{session}; `runner parity {session}`)")
    if not rows:
        typer.echo("no backtest runs (`runner backtest FILE --data DATA` makes one)")
        return
    typer.echo(f"{'run':<18} {'variant':<20} {'started':<20} {'fills':>8} {'return':>9} {'max dd':>8} {'trades':>6}")
    for r in rows:
        started = (r["started"] or "")[:19].replace("T", " ")
        typer.echo(f"{r['run_id']:<18} {r['variant'][:20]:<20} {started:<20} {r['fills'] or 0:>8} "
                   f"{_pct(r['total_return']):>9} {_pct(r['max_drawdown']):>8} {r['trades'] or 0:>6}"
                   + ("" if r["finished"] else "  (unfinished)"))


@runs_app.command("show")
def show(run: str = typer.Argument(..., help="a run id (`runner runs` lists them)"), as_json: bool = JSON) -> None:
    """One run: its variant file, events and fills, every metric, the skip reasons."""
    from runner.errors import BadInputError
    from runner.readmodels.runs import get_run

    doc = _read(get_run, run)
    if doc is None:
        raise BadInputError(f"unknown run id {run!r} (`runner runs` lists them)")
    if as_json:
        emit_json(doc)
        return
    typer.echo(f"{doc['run_id']}  {doc['variant']} v{doc['version']}  {doc['file']}")
    typer.echo(f"  {doc['started']} -> {doc['ended'] or 'unfinished'}: {doc['events']} events, {doc['fills']} fills")
    for k, v in doc["metrics"].items():
        typer.echo(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")
    if doc["skips"]:
        typer.echo("  skips: " + ", ".join(f"{k}={v}" for k, v in sorted(doc["skips"].items(), key=lambda kv: -kv[1])))
    typer.echo(f"  fills: runner fills --run {doc['run_id']}; positions: runner positions --run {doc['run_id']}")


@runs_app.command("delete")
def delete(run: str = typer.Argument(..., help="a run id (`runner runs` lists them)")) -> None:
    """Delete a run and everything stored under it (its fills, orders, positions)."""
    from runner.errors import BadInputError
    from runner.readmodels.runs import delete_run

    if not any(delete_run(url, run) for url in _urls()):
        raise BadInputError(f"unknown run id {run!r} (`runner runs` lists them)")
    typer.echo(f"deleted run {run}")
