"""Reading commands: status, events, fills, positions (human tables, or --json)."""

from __future__ import annotations

import sys

import typer

from runner.cli.app import app, ctx, emit_json

JSON = typer.Option(False, "--json", help="one JSON document on stdout")


def _cell(v: object) -> str:
    text = "" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))
    # cells are data (reasons, details, names from operators and venues): no control characters
    return text if text.isprintable() else "".join(ch if ch.isprintable() else "?" for ch in text)


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    """A plain fixed-width table: a rich table of 200 fills took longer than the query behind it."""
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    sys.stdout.write("\n".join(lines) + "\n")


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
    from runner.cli.stream_view import account_line, bar_line
    from runner.readmodels.liveness import describe

    doc = status_doc()
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
        for bars in account.get("bars", []):
            typer.echo(bar_line(bars))
    if doc["errors"]:
        _table("deploy errors", ["file", "message"], [[e["file"], e["message"]] for e in doc["errors"]])


def status_doc() -> dict:  # type: ignore[type-arg]
    """What `status` and `watch` show (the read model, plus the recording session)."""
    from runner.engine.warming import read as warming
    from runner.marketdata.session_names import latest
    from runner.readmodels.status import status as status_model

    c = ctx()
    db = c.reader()
    try:
        doc = status_model(db, c.home / "state" / "cache" / "today.json")  # accounts: streams, budget, bars
    finally:
        db.close()
    doc["session"] = latest(c.home / "state" / "recordings")  # recordings: runner parity SESSION
    progress = warming(c.home)  # events seen of those needed, as the runner last wrote them
    for v in doc["variants"]:
        p = progress.get(v["id"]) if v["state"] == "warming" else None
        v["warming"] = {"have": int(p["have"]), "need": int(p["need"])} if isinstance(p, dict) else None
    return doc


def _money(x: float) -> str:
    return f"{x:,.2f}"


@app.command()
def events(variant: str = typer.Argument(None), limit: int = typer.Option(200, "--limit"), as_json: bool = JSON) -> None:
    """Lifecycle transitions (of one variant, or all)."""
    from runner.readmodels.records import events as events_model

    db = ctx().reader()
    require_known(db, variant)
    rows = events_model(db, variant, limit)
    if as_json:
        emit_json({"events": rows})
        return
    _table("events", ["ts", "variant", "from", "to", "reason", "actor", "detail"],
           [[e["ts"], e["variant"], e["from"], e["to"], e["reason"], e["actor"], e["detail"]] for e in rows])


def require_known(db, variant: str | None, run: str = "main") -> None:  # type: ignore[no-untyped-def]
    """Unknown variants and run ids are bad input (exit 2), never an empty answer."""
    from runner.errors import BadInputError
    from runner.readmodels.records import variant_known

    if run != "main" and (db is None or db.one("SELECT 1 FROM runs WHERE run_id = ?", (run,)) is None):
        raise BadInputError(f"unknown run id {run!r} (`runner runs` lists them)")
    if variant and not variant_known(db, variant, run):
        raise BadInputError(f"unknown variant {variant!r}" + (f" in run {run!r}" if run != "main" else ""))


RUN = typer.Option("main", "--run", help="a backtest's run id (`runner backtest` prints it); default: paper/live")


@app.command()
def fills(variant: str = typer.Option(None, "--variant"), limit: int = typer.Option(200, "--limit"),
          run: str = RUN, as_json: bool = JSON) -> None:
    """Fills, oldest first (the latest --limit; 0 for all)."""
    from runner.readmodels.records import fills as fills_model

    db = ctx().reader(run)
    require_known(db, variant, run)
    rows = fills_model(db, variant, limit, run)
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
    from runner.readmodels.status import positions as positions_model

    db = ctx().reader(run)
    require_known(db, variant, run)
    rows = positions_model(db, variant, run)
    if as_json:
        emit_json({"positions": rows})
        return
    _table("positions", ["variant", "instrument", "qty", "avg_price", "mark", "realized_pnl", "unrealized_pnl",
                          "ccy", "dust"],
           [[p["variant"], p["instrument"], p["qty"], p["avg_price"], "-" if p["mark"] is None else p["mark"],
             p["realized_pnl"], p["unrealized_pnl"], p["currency"], "yes" if p["dust"] else ""] for p in rows])


@app.command()
def findings(all_: bool = typer.Option(False, "--all", help="closed findings too"),
             limit: int = typer.Option(200, "--limit"), as_json: bool = JSON) -> None:
    """Audit findings recorded by `runner audit` and the runner's scheduled audits (open ones)."""
    from runner.readmodels.records import findings as findings_model

    rows = findings_model(ctx().reader(), all_, limit)
    if as_json:
        emit_json({"findings": rows})
        return
    if not rows:
        typer.echo("no open findings" if not all_ else "no findings")
        return
    _table("findings", ["id", "severity", "check", "variant", "summary", "runbook", "last_seen", "closed"],
           [[f["id"], f["severity"], f["check"], f["variant"] or "-", f["summary"], f["runbook"], f["last_seen"],
             f["closed"] or ""] for f in rows])
