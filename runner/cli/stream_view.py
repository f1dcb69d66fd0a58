"""Each account's venue stream, request-budget use and bar sources in the text of ``runner
status``: one short line per account, one per instrument's bars (the read model is
``runner.readmodels.streams``)."""

from __future__ import annotations

from typing import Any

from runner.readmodels.streams import accounts as accounts_view

__all__ = ["account_line", "accounts_view", "bar_line"]


def account_line(a: dict[str, Any]) -> str:
    """``hl: stream connected; budget/min rest 312/1200``: one line, within 80 columns."""
    state = a["stream"] + (f" {a['down_s']:.0f}s" if a.get("down_s") else "")
    parts = []
    for name, b in a["budget"].items():
        refused = f" ({b['refused']} refused)" if b.get("refused") else ""
        parts.append(f"{name} {b.get('weight_last_min', 0):g}/{b.get('limit_per_min') or 0:g}{refused}")
    budget = ("; budget/min " + ", ".join(parts)) if parts else ""
    busy = f"; busy {a['thread_busy_s']:.0f}s" if (a.get("thread_busy_s") or 0) >= 5 else ""
    old = f" (as of {a['as_of_s']:.0f}s ago)" if (a.get("as_of_s") or 0) > 10 else ""
    return f"{a['account']}: stream {state}{budget}{busy}{old}"


def bar_line(b: dict[str, Any]) -> str:
    """``  ETH 1m bars: books, candle stream down; last 2026-11-29 12:03:00Z LATE 40s``: within 80
    columns for an instrument name up to 12 characters."""
    tf = int(b["timeframe_s"])
    label = next((f"{tf // n}{u}" for n, u in ((86400, "d"), (3600, "h"), (60, "m")) if tf % n == 0), f"{tf}s")
    src = {"candles": "candle stream", "rest": "REST candles"}.get(b["source"], str(b["source"]))
    if b["source"] == "books" and b.get("candles") == "down":
        src += ", candle stream down"
    close = (b.get("last_bar_close") or "").replace("T", " ")
    last = f"; last {close}" if close else "; no bar yet"
    late = f" LATE {b['late_s']:.0f}s" if b.get("late") else ""
    return f"  {b['instrument']} {label} bars: {src}{last}{late}"
