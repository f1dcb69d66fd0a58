"""Reading commands: status, events, fills, positions (human tables, or --json)."""

from __future__ import annotations

import typer

from runner.cli.app import app, ctx, emit_json

JSON = typer.Option(False, "--json", help="one JSON document on stdout")


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Cells are Text, never markup: reasons, details and names come from operators and venues.
    t = Table(title=Text(title), show_lines=False, header_style="bold")
    for c in columns:
        t.add_column(Text(c))
    for r in rows:
        t.add_row(*[Text("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))) for v in r])
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=220)  # piped or logged: do not squeeze columns
    console.print(t)


def _legs(v: dict) -> str:  # type: ignore[type-arg]
    """A multi-leg variant's legs one by one (a hedged pair nets to 0, which says nothing)."""
    legs = v.get("positions") or {}
    if len(legs) <= 1:
        return f"{v['position']:.6g}"
    return ", ".join(f"{sym} {qty:.6g}" for sym, qty in legs.items())


@app.command()
def status(as_json: bool = JSON, wide: bool = typer.Option(False, "--wide", help="every column (default: fits "
                                                           "80 columns)")) -> None:
    """Whether a runner is running; every variant: state, why, position, PnL; deploy errors."""
    from runner.cli.liveness import describe
    from runner.cli.stream_view import account_line, accounts_view
    from runner.cli.views import status_view
    from runner.marketdata.recorder import latest

    doc = status_view(ctx().ledger())
    doc["session"] = latest(ctx().home / "state" / "recordings")  # recordings: runner parity SESSION
    from runner.engine.warming import read as warming

    progress = warming(ctx().home)  # events seen of those needed, as the runner last wrote them
    for v in doc["variants"]:
        p = progress.get(v["id"]) if v["state"] == "warming" else None
        v["warming"] = {"have": int(p["have"]), "need": int(p["need"])} if isinstance(p, dict) else None
    doc["accounts"] = accounts_view(ctx().ledger())  # each account's stream state and budget use
    if as_json:
        emit_json(doc)
        return
    typer.echo(describe(doc["runner"]))
    if doc["session"]:
        typer.echo(f"session {doc['session']} (state/recordings/{doc['session']})")
    if wide:
        _table("variants", ["id", "kind", "venue", "mode", "state", "reason", "since", "position", "orders", "pnl",
                            "today", "ccy", "last error"],
               [[v["id"], v["kind"], v["venue"], v["mode"],
                 f"warming {v['warming']['have']}/{v['warming']['need']}" if v["warming"] else v["state"],
                 f"{v['reason']}: {v['detail']}".strip(": "),
                 v["since"], _legs(v), v["open_orders"], _money(v["pnl"]), _money(v["pnl_today"]), v["currency"], v["last_error"]]
                for v in doc["variants"]])
    else:
        from runner.cli.narrow import narrow_status

        narrow_status(doc["variants"])
    for account in doc["accounts"]:
        typer.echo(account_line(account))
    if doc["errors"]:
        _table("deploy errors", ["file", "message"], [[e["file"], e["message"]] for e in doc["errors"]])


def _money(x: float) -> str:
    return f"{x:,.2f}"


@app.command()
def events(variant: str = typer.Argument(None), limit: int = typer.Option(200, "--limit"), as_json: bool = JSON) -> None:
    """Lifecycle transitions (of one variant, or all)."""
    from runner.cli.views import events_view

    led = ctx().ledger()
    require_known(led, variant)
    rows = events_view(led, variant, limit)
    if as_json:
        emit_json({"events": rows})
        return
    _table("events", ["ts", "variant", "from", "to", "reason", "actor", "detail"],
           [[e["ts"], e["variant"], e["from"], e["to"], e["reason"], e["actor"], e["detail"]] for e in rows])


def require_known(led, variant: str | None, run: str = "main") -> None:  # type: ignore[no-untyped-def]
    """Unknown variants and run ids are bad input (exit 2), never an empty answer."""
    from sqlalchemy import select

    from runner.errors import BadInputError
    from runner.ledger.models import MAIN_RUN
    from runner.ledger.store import T_RUNS

    if run != MAIN_RUN:
        with led.engine.connect() as conn:
            if conn.execute(select(T_RUNS.c.run_id).where(T_RUNS.c.run_id == run)).first() is None:
                raise BadInputError(f"unknown run id {run!r} (`runner backtest` prints a run's id)")
    if variant and led.deployment(variant) is None and led.deployment(f"{variant}@{run}") is None:
        raise BadInputError(f"unknown variant {variant!r}" + (f" in run {run!r}" if run != MAIN_RUN else ""))


RUN = typer.Option("main", "--run", help="a backtest's run id (`runner backtest` prints it); default: paper/live")


@app.command()
def fills(variant: str = typer.Option(None, "--variant"), limit: int = typer.Option(200, "--limit"),
          run: str = RUN, as_json: bool = JSON) -> None:
    """Fills, oldest first (the latest --limit; 0 for all)."""
    from runner.cli.views import fills_view

    led = ctx().ledger()
    require_known(led, variant, run)
    rows = fills_view(led, variant, limit, run)
    if as_json:
        emit_json({"fills": rows})
        return
    _table("fills", ["ts", "variant", "instrument", "side", "qty", "price", "fee", "order_id"],
           # a fill no order made (a promotion's transfer, netting, funding) says what it is instead
           [[f["ts"], f["variant"], f["instrument"], f["side"], f["qty"], f["price"], f["fee"],
             f["order_id"] or f["liquidity"]] for f in rows])


@app.command()
def positions(variant: str = typer.Option(None, "--variant"), run: str = RUN, as_json: bool = JSON) -> None:
    """Positions derived from fills, marked at the last mid the runner saw, PnL in the account currency."""
    from runner.cli.views import positions_view

    led = ctx().ledger()
    require_known(led, variant, run)
    rows = positions_view(led, variant, run)
    if as_json:
        emit_json({"positions": rows})
        return
    _table("positions", ["variant", "instrument", "qty", "avg_price", "mark", "realized_pnl", "unrealized_pnl",
                          "ccy", "dust"],
           [[p["variant"], p["instrument"], p["qty"], p["avg_price"], "-" if p["mark"] is None else p["mark"],
             p["realized_pnl"], p["unrealized_pnl"], p["currency"], "yes" if p["dust"] else ""] for p in rows])
