"""`runner compare` (variants side by side) and `runner promote` (a new version takes over).

Thin: the comparison is ``runner.readmodels.compare``, the handover ``runner.control.promote``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from runner.cli.app import app, ctx, emit_json
from runner.errors import BadInputError

_REL = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``--since``: ISO-8601 (UTC if no zone) or a span back from now (30m, 6h, 7d, 2w)."""
    if not text:
        return None
    m = _REL.fullmatch(text.strip())
    if m:
        return now - timedelta(seconds=float(m[1]) * _UNIT[m[2]])
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(f"--since {text!r}: expected ISO-8601 (2026-05-01T00:00Z) or a span (30m, 6h, 7d)") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _offline_quotes() -> dict[tuple[str, str], str]:
    """Quote units the configured accounts know offline (the sim's settings): backtests' currency."""
    from runner.engine.accounts import account_config
    from venues.registry import offline_instruments

    c = ctx()
    try:
        venues = c.venues()
    except BadInputError:
        return {}
    out = {}
    for name in venues.accounts:
        try:
            for sym, inst in offline_instruments(account_config(name, venues, c.home)).items():
                out[(name, sym)] = inst.quote
        except Exception:  # noqa: BLE001,S112 - an account that cannot be read offline: USD default
            continue
    return out


def _pct(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x * 100:.{nd}f}"


def _num(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:,.{nd}f}"


def render(doc: dict[str, Any]) -> list[str]:
    """The comparison in 80 columns: one line per variant, money in the currency named above it."""
    rows = doc["variants"]
    cur = doc["currencies"]
    lines = [f"PnL and fees in {cur[0]} (the account currency)" if len(cur) == 1
             else "PnL and fees in each row's account currency (" + ", ".join(cur) + "); never summed"]
    if doc.get("since"):
        lines.append(f"since {doc['since'][:19]}Z: round trips closed since, open ones marked")
    lines.append(f"{'variant':<14} {'src':<3} {'trades':>6} {'win%':>5} {'pnl':>10} {'fees':>8} "
                 f"{'mgn bp':>6} {'sharpe':>6} {'maxdd%':>6} {'mkt%':>5}")
    for r in rows:
        ident = r["id"] if len(r["id"]) <= 14 else r["id"][:13] + "~"
        pnl = _num(r["pnl"]) + ("" if len(cur) == 1 else f" {r['currency'][:3]}")
        src = "bt" if r["source"] == "backtest" else "led"
        margin = "-" if r["margin"] is None else f"{r['margin'] * 1e4:.1f}"
        sharpe = "-" if r["sharpe"] is None else f"{r['sharpe']:.2f}"
        lines.append(f"{ident:<14} {src:<3} {r['trades']:>6} {_pct(r['win_rate']):>5} {pnl:>10} "
                     f"{_num(r['fees']):>8} {margin:>6} {sharpe:>6} {_pct(r['max_drawdown']):>6} "
                     f"{_pct(r['time_in_market']):>5}")
    runs = [r for r in rows if r["run_id"]]
    for r in runs:
        lines.append(f"  bt {r['id']}: backtest run {r['run_id']}")
    fam = doc.get("family")
    if fam:
        t = fam["thresholds"]
        verdict = "CONVERGE" if fam["converges"] else "do not converge"
        lines.append(f"family {fam['name']}: {len(fam['versions'])} version(s), {len(fam['judged'])} judged: {verdict}")
        lines += [f"  {part}" for part in fam["why"].split("; ")]
        lines.append(f"  thresholds: win-rate spread <= {t['win_spread'] * 100:.1f} pts, margin spread <= "
                     f"{t['margin_spread'] * 1e4:.1f} bps,")
        lines.append(f"  every margin > 0; versions with >= {t['min_trades']} round trips are judged")
    return lines


@app.command()
def compare(
    variants: list[str] = typer.Argument(None, help="variant ids (paper/live fills from the ledger)"),
    run: list[str] = typer.Option(None, "--run", help="a backtest run id (repeatable)"),
    family: str = typer.Option(None, "--family", help="every version of a name, e.g. MR: do they converge?"),
    since: str = typer.Option(None, "--since", help="ISO-8601 or a span back from now: 30m, 6h, 7d"),
    win_spread: float = typer.Option(0.10, "--win-spread", help="family: max win-rate spread (fraction)"),
    margin_spread_bps: float = typer.Option(10.0, "--margin-spread-bps", help="family: max margin spread (bps)"),
    min_trades: int = typer.Option(5, "--min-trades", help="family: round trips a version needs to be judged"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Variants or backtest runs side by side: trades, win rate, PnL, fees, margin, Sharpe, drawdown."""
    from runner.readmodels.compare import Thresholds
    from runner.readmodels.compare import compare as build

    now = datetime.now(UTC)
    if win_spread < 0 or margin_spread_bps < 0 or min_trades < 1:
        raise BadInputError("--win-spread and --margin-spread-bps must be >= 0, --min-trades >= 1")
    doc = build(ctx().ledger(create=False), variants or [], run or [], since=parse_since(since, now),
                family_name=family, offline_quotes=_offline_quotes(), now=now, home=ctx().home,
                thresholds=Thresholds(win_spread, margin_spread_bps / 1e4, min_trades))
    if as_json:
        emit_json(doc)
        return
    for line in render(doc):
        typer.echo(line)


@app.command()
def promote(old: str, new: str, reason: str = typer.Option("", "--reason"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """NEW (a higher version of OLD) takes over OLD's positions without trading; OLD ends retired."""
    from runner import control

    c = ctx()
    done = control.promote(c.ledger(), old, new, c.venues(), reason)
    if as_json:
        emit_json(done.as_json())
        return
    for m in done.moved:
        typer.echo(f"{old} -> {new}: {m.qty} {m.instrument} at {m.price} ({m.priced_at}), fee 0, no order sent")
    if not done.moved:
        typer.echo(f"{old} held nothing: nothing moved")
    typer.echo(f"{old}: {done.old_state} (handover); {new}: {done.new_state}")
