"""`runner validate` and `runner backtest`."""

from __future__ import annotations

from pathlib import Path

import typer

from runner.cli.app import app, ctx, emit_json


@app.command()
def validate(paths: list[Path], offline: bool = typer.Option(
        False, "--offline", help="check instrument names by shape only; do not reach the venue")) -> None:
    """Check variant files without deploying: the file, its instruments against the account's
    list (by shape when unreachable) and the kind's needs against the adapter's capabilities.
    Exit 0 when all are valid, 2 otherwise."""
    from runner.errors import BadInputError, SpecError
    from runner.spec.load import load_variant
    from runner.spec.venue_fit import check_fit

    c = ctx()
    venues = c.venues()
    bad = 0
    for p in paths:
        try:
            v = load_variant(p, venues)
            fit = check_fit(v, venues, c.home, offline)
            if fit.issues:
                raise SpecError(fit.issues)
        except SpecError as exc:
            bad += 1
            typer.echo(str(exc), err=True)
            continue
        typer.echo(f"{p}: ok ({v.id}, kind {v.spec.kind}, venue {v.spec.venue}, hash {v.content_hash[:12]}; "
                   f"{fit.note})")
        typer.echo(f"  data: {v.stream.describe()}" + (f"; bars: {fit.bars}" if fit.bars else ""))
    if bad:
        raise BadInputError(f"{bad} of {len(paths)} file(s) invalid")


@app.command()
def backtest(
    path: Path,
    data: list[str] = typer.Option(..., "--data", help="FILE or INSTRUMENT=FILE; repeat for several streams"),
    capital: float = typer.Option(100_000.0, "--capital", help="starting equity for returns"),
    as_json: bool = typer.Option(False, "--json"),
    trades: int = typer.Option(20, "--trades", help="trades to print (human output)"),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="a progress bar on stderr "
                                  "(default: when stderr is a terminal and without --json)"),
    report: Path | None = typer.Option(None, "--report", help="also write a self-contained HTML report here"),
) -> None:
    """Replay recorded data through the same engine, strategy and risk code as paper and live.
    The run is stored in state/backtests.db (`runner runs` lists, shows and deletes runs)."""
    from runner.cli import progress as bar
    from runner.engine.backtest import bind_streams, run_backtest
    from runner.spec.load import load_variant

    c = ctx()
    venues = c.venues()
    if report is not None:
        from runner.viz.report import check_report_path

        check_report_path(report)
    loaded = load_variant(path, venues)
    streams = bind_streams(loaded, data)
    c.ledger().close()  # the deployment's live ledger exists, as before runs moved out (serve, status read it)
    ledger = c.backtests()
    watcher = None if progress is False or (as_json and not progress) else \
        bar.start([p for _, p in streams], f"backtest {loaded.id}", force=bool(progress))
    try:
        result = run_backtest(loaded, streams, ledger, venues, capital)
    finally:
        bar.stop(watcher)
    if report is not None:
        from runner.viz.report import backtest_report

        backtest_report(report, loaded, streams, ledger, venues, result)
    if as_json:
        emit_json(result.as_json())
        return
    m = result.metrics
    typer.echo(f"{result.variant}  run {result.run_id}: {result.bars} events, {result.fills} fills "
               f"(runner runs show {result.run_id})")
    ccy = m.get("currency", "")
    sharpe = "n/a (under 30 days)" if m["sharpe"] is None else f"{m['sharpe']:.2f}"
    typer.echo(
        f"  total return {m['total_return']:.4%}  sharpe {sharpe}  max drawdown {m['max_drawdown']:.4%}\n"
        f"  trades {m['trades']}  win rate {m['win_rate']:.2%}  fees {m['fees']:.2f} {ccy}"
        f"  funding {m.get('funding', 0.0):.2f} {ccy}  exposure {m['exposure']:.2%}\n"
        f"  open trades {m.get('open_trades', 0)} marked at the mid: pnl {m.get('open_pnl', 0.0):.2f} {ccy}"
    )
    for k, v in result.extra.items():
        if k != "open_trades":
            typer.echo(f"  {k}: {v}")
    typer.echo("  skips: " + ", ".join(f"{k}={v}" for k, v in sorted(result.skips.items(), key=lambda kv: -kv[1])))
    for t in result.trades[:trades]:
        typer.echo(f"  {t['side']:5} {t['entry_ts']} {_px(t['entry_price'])} -> {t['exit_ts']} "
                   f"{_px(t['exit_price'])} qty {t['qty']} pnl {t['pnl']:.2f} {ccy}")


def _px(price: float | None) -> str:
    return "-" if price is None else f"{price:.2f}"
