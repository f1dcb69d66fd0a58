"""`runner runs`: the backtest runs stored in state/backtests.db: list, show, delete."""

from __future__ import annotations

import typer

from runner.cli.app import app, ctx, emit_json

runs_app = typer.Typer(help="Backtest runs (state/backtests.db): list (default), show RUN, delete RUN.",
                       invoke_without_command=True)
app.add_typer(runs_app, name="runs")
JSON = typer.Option(False, "--json", help="one JSON document on stdout")


def _db():  # type: ignore[no-untyped-def]
    from runner.ledger.paths import backtests_url
    from runner.readmodels.runs import open_runs

    c = ctx()
    c.require_deployment()
    return open_runs(backtests_url(c.home))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


@runs_app.callback()
def runs(click_ctx: typer.Context, limit: int = typer.Option(0, "--limit", help="the newest N (default: all)"),
         as_json: bool = JSON) -> None:
    """List the backtest runs, newest first, with their headline metrics."""
    if click_ctx.invoked_subcommand is not None:
        return
    from runner.readmodels.runs import list_runs

    db = _db()
    try:
        rows = list_runs(db, limit)
    finally:
        if db is not None:
            db.close()
    if as_json:
        emit_json({"runs": rows})
        return
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

    db = _db()
    try:
        doc = get_run(db, run)
    finally:
        if db is not None:
            db.close()
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
    from runner.ledger.paths import backtests_url
    from runner.readmodels.runs import delete_run

    c = ctx()
    c.require_deployment()
    if not delete_run(backtests_url(c.home), run):
        raise BadInputError(f"unknown run id {run!r} (`runner runs` lists them)")
    typer.echo(f"deleted run {run}")
