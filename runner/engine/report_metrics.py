"""The ``metrics`` and ``trades`` of a backtest report, from the engine's round trips and equity.

Kept apart from the replay loop (``backtest.py``): every amount here is in the account's
currency (``currency`` says which), ``fees`` are trading fees only (funding is its own line,
never a negative fee), ``trades`` counts closed round trips (a flip closes one and opens the
next, a multi-leg group is one), and trips still open at the end are reported apart, marked
at the last mid, never folded into the win rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.engine.metrics import EquityStats
from runner.marketdata.timestamps import to_iso
from runner.money import currency_of

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine


def account_currency(engine: VariantEngine) -> str:
    """The currency amounts are counted in: the instruments' quote currencies, if they agree."""
    insts = engine.venue.instruments()
    found = {currency_of(insts[s].quote) for s in engine.spec.instruments if s in insts}
    found |= {currency_of(i.quote) for s, i in insts.items() if s in engine.positions}
    return found.pop() if len(found) == 1 else "USD"


def _iso_row(row: dict[str, Any]) -> dict[str, Any]:
    row["entry_ts"] = to_iso(row["entry_ts"])
    row["exit_ts"] = to_iso(row["exit_ts"]) if row["exit_ts"] is not None else None
    return row


def backtest_metrics(engine: VariantEngine, stats: EquityStats, capital: float
                     ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(metrics, closed trade rows (the latest kept), open trade rows marked at the last mid)."""
    book = engine.roundtrips
    assert book is not None, "a backtest keeps round trips"
    open_rows = [_iso_row(r) for r in book.open_rows(engine.positions, engine.marks)]
    metrics = {
        "currency": account_currency(engine),
        "total_return": stats.total_return(),
        "sharpe": stats.sharpe(),
        "days": stats.days(),
        "max_drawdown": stats.max_drawdown,
        "trades": book.count,
        "win_rate": book.wins / book.count if book.count else 0.0,
        "fees": float(book.fees),
        "funding": float(book.funding),
        "exposure": stats.exposure(),
        "open_trades": len(open_rows),
        "open_pnl": sum((r["pnl"] for r in open_rows), 0.0),
        "capital": capital,
        "final_equity": stats.last_equity,
    }
    trades = [_iso_row(t.row()) for t in book.closed]
    return metrics, trades, open_rows
