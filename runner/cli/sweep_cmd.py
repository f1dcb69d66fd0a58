"""`runner sweep`: a grid of params backtested in and out of sample, ranked, judged by the gate.

Exit 0 when a candidate passes the gate (with ``--write`` it is written to ``candidates/``);
1 when none does (nothing written); 2 on bad input (a grid over anything but params, a value the
kind refuses, bad data).
"""

from __future__ import annotations

from pathlib import Path

import typer

from runner.cli.app import app, ctx, emit_json

WIDTH = 80
SHORT = {"sharpe": "shp", "trades": "trd", "drawdown": "dd", "return": "ret"}  # the gate column


@app.command()
def sweep(
    variant: str = typer.Argument(..., help="a variant id of strategies.d/ (MR_v13) or a variant file"),
    data: list[str] = typer.Option(..., "--data", help="FILE or INSTRUMENT=FILE, as for runner backtest"),
    grid: list[str] = typer.Option(..., "--grid", help="PARAM=V1,V2,... (repeat: the grid is their product)"),
    random_n: int = typer.Option(None, "--random", min=1, help="run N cells of the grid drawn at random"),
    seed: int = typer.Option(0, "--seed", help="seed of --random"),
    split: float = typer.Option(None, "--split", help="in-sample share of the data's time span (default 0.7)"),
    walk_forward: int = typer.Option(None, "--walk-forward", min=1, max=50,
                                     help="K rolling folds: in sample on one part, out of sample on the next"),
    workers: int = typer.Option(None, "--workers", min=1, help="processes (default: every core)"),
    capital: float = typer.Option(100_000.0, "--capital", help="starting equity of each run"),
    write: bool = typer.Option(False, "--write", help="write the winner as the next version into candidates/"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Backtest every cell of the grid (and the current params) in and out of sample on all cores;
    the gate of runner.yaml judges each out of sample against the current. Exit 1: no winner."""
    from runner.engine.backtest import bind_streams
    from runner.errors import BadInputError, SpecError
    from runner.ledger.store import default_url
    from runner.spec.load import load_variant
    from runner.tune import grid as gr
    from runner.tune.candidate_file import write_candidate
    from runner.tune.executor import executor_for
    from runner.tune.sweep import run_sweep

    c = ctx()
    if split is not None and walk_forward is not None:
        raise BadInputError("--split and --walk-forward: give one of them")
    if split is not None and not 0 < split < 1:
        raise BadInputError(f"--split {split}: expected a share between 0 and 1 (e.g. 0.7)")
    venues = c.venues()
    config = c.config()
    loaded = load_variant(_variant_path(c.home, variant), venues)
    from runner.kinds.registry import get_kind

    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    axes = [(*gr.parse_axis(g, f"--grid #{i + 1} ({g!r})"), f"--grid #{i + 1} ({g!r})") for i, g in enumerate(grid)]
    cells = gr.build(axes, kind.Params, loaded.spec.params, loaded.spec.kind, random_n, seed)
    streams = bind_streams(loaded, data)
    result = run_sweep(loaded, streams, cells, config.promotion_gate, venues, capital=capital, split=split,
                       walk_forward=walk_forward, executor=executor_for(workers))
    if write and result.winner is not None:
        try:
            path = write_candidate(c.home, loaded, result.winner.params, {"sweep": _summary(result)}, venues,
                                   ledger_url=c.db or default_url(c.home))
        except SpecError as exc:
            raise BadInputError(f"the winner's file does not validate, nothing written: {exc}") from None
        result.written = str(path)
    if as_json:
        emit_json(result.as_json())
    else:
        for line in table(result, write):
            typer.echo(line)
    if result.winner is None:
        raise typer.Exit(1)


def _variant_path(home: Path, variant: str) -> Path:
    from runner.errors import BadInputError

    p = Path(variant)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    for folder in ("strategies.d", "candidates"):
        cand = home / folder / f"{variant}.yaml"
        if cand.exists():
            return cand
    raise BadInputError(f"unknown variant {variant!r}: no {variant}.yaml in {home / 'strategies.d'} "
                        "(or give the file's path)")


def _summary(result) -> dict:  # type: ignore[no-untyped-def,type-arg]
    doc = result.as_json()
    return {k: doc[k] for k in ("method", "gate", "grid", "cells")} | {
        "base_out_of_sample": doc["base"]["out_of_sample"], "winner_out_of_sample": doc["winner"]["out_of_sample"]}


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def table(result, write: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """The ranked table at 80 columns: out-of-sample figures, and the inequalities each fails."""
    from runner.tune.sweep import params_text

    keys = [a.name for a in result.grid.axes]
    m = result.method
    how = f"walk-forward {m['walk_forward']}" if "walk_forward" in m else f"split {m['split']:g}"
    out = [_cut(f"{result.variant} sweep: {len(result.ranked)} cells, {how}, {result.jobs} backtests, "
                f"{result.workers} worker{'s' if result.workers > 1 else ''}, {result.seconds:.1f}s", WIDTH)]
    g = result.gate
    out.append(_cut(f"gate (OOS vs cur): shp > cur+{g.sharpe_margin:g}, trd >= {g.min_trades}, "
                    f"dd <= {'' if g.drawdown_ratio == 1 else f'{g.drawdown_ratio:g}x '}cur, "
                    f"ret >= {g.return_ratio:g}x cur", WIDTH))
    if result.grid.skipped:
        out.append(_cut(f"skipped {len(result.grid.skipped)} cell(s) the kind refuses: {result.grid.skipped[0]}",
                        WIDTH))
    out.append(f"{'#':>2} {'params':<22} {'IS shp':>6} {'OOS sh':>6} {'OOS ret':>8} {'trades':>6} {'max dd':>6}  gate")
    base = result.base

    def row(rank: str, c) -> str:  # type: ignore[no-untyped-def]
        o, i = c.out_of_sample, c.in_sample
        gate = "current" if c.current else ("PASS" if c.passes else "x " + ",".join(
            SHORT.get(f["inequality"], f["inequality"]) for f in c.verdict["fails"]))
        if result.winner is c:
            gate = "PASS *"
        line = (f"{rank:>2} {_cut(params_text(c.params, keys), 22):<22} {_num(i.get('sharpe'), '.2f'):>6} "
                f"{_num(o.get('sharpe'), '.2f'):>6} {o['total_return']:>+8.2%} {o['trades']:>6} "
                f"{o['max_drawdown']:>6.2%}  {gate}")
        return _cut(line, WIDTH)

    for n, c in enumerate(result.ranked, 1):
        out.append(row(str(n), c))
    if all(c is not base for c in result.ranked):
        out.append(row("cur", base))
    for pick in m.get("selection", []):
        o = pick["out_of_sample"]
        out.append(_cut(f"fold {pick['fold']}: best in sample {params_text(pick['params'], keys)}"
                        f"{' (current)' if pick['current'] else ''}; next part: Sharpe {_num(o['sharpe'], '.2f')}, "
                        f"return {o['total_return']:+.2%}, {o['trades']} trades", WIDTH))
    if result.winner is None:
        out.append("no candidate passes the gate: nothing to promote" + (", nothing written" if write else "")
                   + " (exit 1)")
    elif result.written:
        out.append(_cut(f"winner written: {result.written} (review it, then move it into strategies.d/)", WIDTH))
    else:
        out.append(_cut(f"winner: {params_text(result.winner.params, keys)} (--write writes it to candidates/)",
                        WIDTH))
    return out
