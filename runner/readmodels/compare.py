"""Variants side by side, from the ledger's paper/live fills or from stored backtest runs.

One row per variant (or run): round trips, win rate, PnL, fees, margin after fees (PnL per unit
of notional traded), Sharpe, max drawdown and time in market, money in the account's currency
(``currency``; never summed across currencies). The formulas are the engine's own: round trips
from :class:`runner.engine.roundtrips.TripBook`, Sharpe and drawdown from
:class:`runner.engine.metrics.EquityStats` over the runner's equity snapshots; a backtest run
reports the metrics its run stored, computed by the same code. Transfer fills (``runner
promote``) are not trades: the trip OLD handed over is not counted for it (its PnL up to the
mark is), and NEW's trip opens at the mark. :func:`family` says whether the versions of one
strategy converge: close win rates and close, positive margins, with the thresholds stated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from runner.engine.metrics import EquityStats
from runner.engine.roundtrips import TripBook
from runner.errors import BadInputError
from runner.ledger.jsonable import aware
from runner.ledger.models import MAIN_RUN, Fill
from runner.ledger.positions import FLAT_POSITION, PositionState, apply_fill
from runner.ledger.store import T_EQUITY, T_RUNS, Ledger
from runner.money import currency_of, unit_scale

ZERO = Decimal(0)
TRANSFER = "transfer"  # runner.engine.handover.TRANSFER (readmodels do not import the engine's writers)
NOT_TRADES = frozenset({"funding", "settlement", "netting", TRANSFER})
CAPITAL = 100_000.0  # the equity returns are taken on, as `runner backtest --capital`

QuoteOf = Callable[[str, str], str]  # (account, instrument) -> quote unit


@dataclass(frozen=True)
class Thresholds:
    """When versions of one strategy are said to converge (each stated in the output)."""

    win_spread: float = 0.10  # max - min win rate, as a fraction (10 points)
    margin_spread: float = 0.0010  # max - min margin after fees, fraction of notional (10 bps)
    min_trades: int = 5  # a version with fewer round trips is listed, not judged


# --- sources ---------------------------------------------------------------------------------
@dataclass
class BacktestRun:
    run_id: str
    variant: str  # the variant id the run backtested (MR_v13)
    summary: dict[str, Any]
    fills: list[Fill] = field(default_factory=list)
    started: datetime | None = None


def backtest_run(ledger: Ledger, run_id: str) -> BacktestRun | None:
    """The one read of a stored backtest run: its summary and its fills (None: no such run).
    ``ledger`` is where runs are stored (``runner.readmodels.backtests.runs_ledger``)."""
    import json

    with ledger.engine.connect() as conn:
        row = conn.execute(select(T_RUNS).where(T_RUNS.c.run_id == run_id, T_RUNS.c.kind == "backtest")
                           ).mappings().first()
    if row is None or row["variant"] is None:
        return None
    summary = json.loads(row["summary"]) if row["summary"] else {}
    fills = ledger.fills(run_id, f"{row['variant']}@{run_id}", limit=None)
    return BacktestRun(run_id, row["variant"], summary, fills, row["started"])


def backtest_runs_of(ledger: Ledger, name: str) -> dict[int, str]:
    """Version -> the latest finished backtest run of each version of ``name``."""
    pat = re.compile(rf"{re.escape(name)}_v(\d+)")
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(T_RUNS.c.run_id, T_RUNS.c.variant).where(
            T_RUNS.c.kind == "backtest", T_RUNS.c.ended.is_not(None)).order_by(T_RUNS.c.started)).all()
    out: dict[int, str] = {}
    for run_id, variant in rows:
        m = pat.fullmatch(variant or "")
        if m:
            out[int(m[1])] = run_id  # later runs replace earlier ones
    return out


# --- one row ---------------------------------------------------------------------------------
def _currency(fills: Iterable[Fill], quote_of: QuoteOf) -> str:
    found = {currency_of(quote_of(f.account, f.instrument)) for f in fills}
    if len(found) > 1:
        return "mixed:" + ",".join(sorted(found))
    return found.pop() if found else "USD"


def fold_fills(fills: Sequence[Fill], quote_of: QuoteOf, marks: Mapping[tuple[str, str], Decimal],
               since: datetime | None, now: datetime) -> dict[str, Any]:
    """Trades, win rate, PnL, fees, notional, margin and time in market of one variant's fills
    (oldest first). With ``since``: trips closed from then on, fees and notional of fills from
    then on, plus what is open now marked at ``marks``."""
    scales: dict[str, Decimal] = {}
    accounts = {f.instrument: f.account for f in fills}

    def scale(sym: str) -> Decimal:
        if sym not in scales:
            scales[sym] = unit_scale(quote_of(accounts.get(sym, ""), sym))
        return scales[sym]

    book = TripBook(10**9, scale)
    pos: dict[str, PositionState] = {}
    lo = since.timestamp() if since else None
    fees = notional = funding = handed = ZERO
    held_since: float | None = None
    in_market = 0.0
    first: float | None = None
    for f in fills:
        ts = aware(f.ts).timestamp()
        inside = lo is None or ts >= lo
        if inside and first is None:
            first = ts if lo is None else lo
        k = scale(f.instrument)
        old = pos.get(f.instrument, FLAT_POSITION)
        new = pos[f.instrument] = apply_fill(old, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts)
        if f.liquidity == TRANSFER and new.qty == 0:  # handed over: its PnL to the mark counts, not a trade
            key = book.owner.pop(f.instrument, None)
            trip = book.open.pop(key, None) if key else None
            if inside:
                handed += (trip.pnl if trip else ZERO) + (new.realized_pnl - old.realized_pnl) * k
        else:
            book.on_fill(f, old, new, ts)  # type: ignore[arg-type]
        if inside and f.liquidity not in NOT_TRADES:
            fees += f.fee * k
            notional += f.qty * f.price * k
        if inside and f.liquidity == "funding":
            funding -= f.fee * k
        exposed = any(p.qty for p in pos.values())
        if exposed and held_since is None:
            held_since = ts
        elif not exposed and held_since is not None:
            in_market += max(0.0, ts - max(held_since, lo or held_since))
            held_since = None
    end = now.timestamp()
    if held_since is not None:
        in_market += max(0.0, end - max(held_since, lo or held_since))
    closed = [t for t in book.closed if lo is None or (t.exit_ts or 0) >= lo]
    wins = sum(1 for t in closed if t.pnl > 0)
    open_marks = {sym: float(marks[(accounts[sym], sym)]) for sym in pos if (accounts[sym], sym) in marks}
    open_rows = book.open_rows(pos, open_marks)
    pnl = sum((t.pnl for t in closed), ZERO) + handed + sum((Decimal(repr(r["pnl"])) for r in open_rows), ZERO)
    start = first if first is not None else (lo or end)
    return {"trades": len(closed), "win_rate": wins / len(closed) if closed else None, "pnl": pnl, "fees": fees,
            "funding": funding, "notional": notional, "margin": pnl / notional if notional else None,
            "open_trades": len(open_rows), "time_in_market": in_market / (end - start) if end > start else None}


def equity_stats(ledger: Ledger, variant: str, since: datetime | None, capital: float) -> EquityStats | None:
    """The runner's equity snapshots of ``variant`` through the one Sharpe/drawdown formula."""
    q = select(T_EQUITY.c.ts, T_EQUITY.c.equity, T_EQUITY.c.unrealized).where(
        T_EQUITY.c.run_id == MAIN_RUN, T_EQUITY.c.variant == variant)
    if since is not None:
        q = q.where(T_EQUITY.c.ts >= since)
    with ledger.engine.connect() as conn:
        rows = conn.execute(q.order_by(T_EQUITY.c.ts, T_EQUITY.c.id)).all()
    if not rows:
        return None
    stats = EquityStats(capital)
    for ts, eq, unreal in rows:
        stats.update(aware(ts).timestamp(), capital + float(eq), Decimal(unreal) != 0)
    return stats


@dataclass
class Row:
    id: str
    source: str  # ledger | backtest
    currency: str
    trades: int
    win_rate: float | None
    pnl: float | None
    fees: float | None
    funding: float | None
    notional: float | None
    margin: float | None
    sharpe: float | None
    max_drawdown: float | None
    time_in_market: float | None
    open_trades: int = 0
    run_id: str | None = None
    version: int | None = None


def _f(x: Decimal | float | None) -> float | None:
    return None if x is None else float(x)


def ledger_row(ledger: Ledger, variant: str, quote_of: QuoteOf, marks: Mapping[tuple[str, str], Decimal],
               since: datetime | None, now: datetime, capital: float = CAPITAL) -> Row:
    fills = ledger.fills(MAIN_RUN, variant, limit=None)
    cur = _currency(fills, quote_of)
    got = fold_fills(fills, quote_of, marks, since, now)
    stats = equity_stats(ledger, variant, since, capital)
    dep = ledger.deployment(variant)
    money = not cur.startswith("mixed")
    return Row(variant, "ledger", cur, got["trades"], got["win_rate"], _f(got["pnl"]) if money else None,
               _f(got["fees"]) if money else None, _f(got["funding"]) if money else None,
               _f(got["notional"]) if money else None, _f(got["margin"]) if money else None,
               stats.sharpe() if stats else None, stats.max_drawdown if stats else None, got["time_in_market"],
               got["open_trades"], None, dep.version if dep else None)


def run_row(run: BacktestRun, quote_of: QuoteOf) -> Row:
    """A backtest run: the metrics it stored (the engine's), and its margin from its fills."""
    m = run.summary.get("metrics", {})
    pnl = m["final_equity"] - m["capital"] if "final_equity" in m and "capital" in m else None
    scale = {f.instrument: unit_scale(quote_of(f.account, f.instrument)) for f in run.fills}
    notional = sum((f.qty * f.price * scale[f.instrument] for f in run.fills if f.liquidity not in NOT_TRADES), ZERO)
    ver = re.search(r"_v(\d+)$", run.variant)
    return Row(run.variant, "backtest", m.get("currency", "USD"), int(m.get("trades", 0)), m.get("win_rate"), pnl,
               m.get("fees"), m.get("funding"), float(notional), pnl / float(notional) if pnl is not None and notional
               else None, m.get("sharpe"), m.get("max_drawdown"), m.get("exposure"), int(m.get("open_trades", 0)),
               run.run_id, int(ver[1]) if ver else None)


# --- the comparison --------------------------------------------------------------------------
def quote_lookup(ledger: Ledger, offline: Mapping[tuple[str, str], str] | None = None) -> QuoteOf:
    """Quote unit of an instrument: the runner's recorded marks, else the account's offline
    metadata (the sim's settings), else USD."""
    from runner.ledger.marks import latest_marks

    known = {k: q for k, (q, _mid, _ts) in latest_marks(ledger).items()}
    extra = dict(offline or {})
    return lambda account, sym: known.get((account, sym)) or extra.get((account, sym)) or "USD"


def compare(ledger: Ledger, variants: Sequence[str] = (), runs: Sequence[str] = (), *,
            since: datetime | None = None, family_name: str | None = None, thresholds: Thresholds = Thresholds(),
            offline_quotes: Mapping[tuple[str, str], str] | None = None, now: datetime | None = None,
            capital: float = CAPITAL, home: Path | None = None) -> dict[str, Any]:
    """The ``compare`` document: ``variants`` rows (spec keys and more) and, for a family, its verdict.
    Unknown variants or runs are bad input (exit 2)."""
    from runner.ledger.marks import latest_marks
    from runner.readmodels.backtests import runs_ledger

    store = runs_ledger(ledger, home)  # backtest runs: state/backtests.db when kept apart
    now = now or datetime.now(UTC)
    quote_of = quote_lookup(ledger, offline_quotes)
    marks = {k: mid for k, (_q, mid, _ts) in latest_marks(ledger).items()}
    known = {d.variant: d for d in ledger.deployments() if "@" not in d.variant}
    ids, run_ids = list(variants), list(runs)
    if family_name:
        deployed = {d.version: d.variant for d in known.values() if d.name == family_name}
        tested = {v: r for v, r in backtest_runs_of(store, family_name).items() if v not in deployed}
        if not deployed and not tested:
            raise BadInputError(f"--family {family_name}: no deployed version and no backtest run of {family_name}")
        ids += [deployed[v] for v in sorted(deployed) if deployed[v] not in ids]
        run_ids += [tested[v] for v in sorted(tested) if tested[v] not in run_ids]
    missing = [v for v in ids if v not in known]
    if missing:
        raise BadInputError(f"unknown variant(s) {', '.join(missing)} (deployed: {', '.join(sorted(known)) or 'none'})")
    rows = [ledger_row(ledger, v, quote_of, marks, since, now, capital) for v in ids]
    for rid in run_ids:
        run = backtest_run(store, rid)
        if run is None:
            raise BadInputError(f"unknown backtest run {rid!r} (`runner runs` lists them)")
        rows.append(run_row(run, quote_of))
    if not rows:
        raise BadInputError("compare needs variants, --run RUN or --family NAME")
    if family_name:
        rows.sort(key=lambda r: (r.version or 0, r.id))
    doc: dict[str, Any] = {"variants": [asdict(r) for r in rows], "since": since.astimezone(UTC).isoformat() if since else None,
                           "currencies": sorted({r.currency for r in rows})}
    if family_name:
        doc["family"] = family(family_name, rows, thresholds)
    return doc


def family(name: str, rows: Sequence[Row], t: Thresholds) -> dict[str, Any]:
    """Do the versions converge? Judged on versions with at least ``min_trades`` round trips."""
    judged = [r for r in rows if r.trades >= t.min_trades and r.win_rate is not None and r.margin is not None]
    out: dict[str, Any] = {"name": name, "versions": [r.id for r in rows], "judged": [r.id for r in judged],
                           "thresholds": asdict(t), "win_rate_spread": None, "margin_spread": None,
                           "all_positive": None, "converges": False}
    if len({r.currency for r in judged}) > 1:
        out["why"] = "versions trade in different currencies: margins are not compared"
        return out
    if len(judged) < 2:
        out["why"] = f"fewer than 2 versions with at least {t.min_trades} round trips"
        return out
    wins = [r.win_rate for r in judged if r.win_rate is not None]
    margins = [r.margin for r in judged if r.margin is not None]
    ws, ms = max(wins) - min(wins), max(margins) - min(margins)
    positive = all(m > 0 for m in margins)
    out.update(win_rate_spread=ws, margin_spread=ms, all_positive=positive)
    out["converges"] = ws <= t.win_spread and ms <= t.margin_spread and positive
    out["why"] = (f"win rate spread {ws * 100:.1f} pts {'<=' if ws <= t.win_spread else '>'} "
                  f"{t.win_spread * 100:.1f}; margin spread {ms * 1e4:.1f} bps "
                  f"{'<=' if ms <= t.margin_spread else '>'} {t.margin_spread * 1e4:.1f}; "
                  + ("every margin positive after fees" if positive else "a margin is not positive after fees"))
    return out
