"""The one charts module: inline SVG for the dashboard and the backtest report.

matplotlib (Agg, SVG out) is imported on the first chart only. Text is kept as SVG text
(small, selectable) and never parsed as math, so a ``$`` in an instrument name is shown as
is; matplotlib escapes the text it writes. Sparklines are a hand-written polyline: the
overview draws one per variant on every refresh, and a figure each would cost ~30 ms.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

INK, MUTED, GRID = "#1f2933", "#7b8794", "#e4e7eb"
UP, DOWN, LINE, FILL = "#0f7b3f", "#b42318", "#1d4ed8", "#dbe4ff"
_plt: Any = None


def _pyplot() -> Any:
    global _plt
    if _plt is None:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        plt.rcParams.update({
            "svg.fonttype": "none", "svg.hashsalt": "runner", "text.parse_math": False,
            "font.family": "DejaVu Sans", "font.size": 8, "axes.edgecolor": GRID, "axes.labelcolor": MUTED,
            "xtick.color": MUTED, "ytick.color": MUTED, "axes.grid": True, "grid.color": GRID,
            "grid.linewidth": 0.6, "axes.spines.top": False, "axes.spines.right": False,
            "figure.facecolor": "white", "axes.facecolor": "white",
        })
        _plt = plt
    return _plt


def _times(ts: Sequence[str | float | datetime]) -> list[datetime]:
    out = []
    for t in ts:
        if isinstance(t, datetime):
            out.append(t if t.tzinfo else t.replace(tzinfo=UTC))
        elif isinstance(t, int | float):
            out.append(datetime.fromtimestamp(t, UTC))
        else:
            d = datetime.fromisoformat(t.replace("Z", "+00:00"))
            out.append(d if d.tzinfo else d.replace(tzinfo=UTC))
    return out


def _svg(fig: Any) -> str:
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # inline: no XML prolog or doctype


def _time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, tz=UTC))


def empty_svg(message: str, width: float = 9.0, height: float = 1.2) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width, height))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, transform=ax.transAxes)
    return _svg(fig)


def equity_svg(points: Sequence[tuple[Any, float]], label: str, drawdown: bool = True,
               width: float = 9.0) -> str:
    """Equity (or marked PnL) over time, with its drawdown from the running peak underneath."""
    if len(points) < 2:
        return empty_svg("not enough snapshots for a curve yet", width)
    plt = _pyplot()
    ts = _times([p[0] for p in points])
    ys = [p[1] for p in points]
    rows = 2 if drawdown else 1
    fig, axes = plt.subplots(rows, 1, figsize=(width, 3.4 if drawdown else 2.4), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1][:rows]})
    ax = axes[0][0]
    ax.plot(ts, ys, color=LINE, linewidth=1.2)
    ax.fill_between(ts, ys, min(ys), color=FILL, alpha=0.6, linewidth=0)
    ax.set_ylabel(label)
    if drawdown:
        peak, dd = float("-inf"), []
        for y in ys:
            peak = max(peak, y)
            dd.append(y - peak)
        ax2 = axes[1][0]
        ax2.fill_between(ts, dd, 0, color=DOWN, alpha=0.35, linewidth=0)
        ax2.plot(ts, dd, color=DOWN, linewidth=0.8)
        ax2.set_ylabel("drawdown")
    _time_axis(axes[-1][0])
    fig.align_ylabels()
    return _svg(fig)


def price_fills_svg(prices: dict[str, Sequence[tuple[Any, float]]], fills: Sequence[dict[str, Any]],
                    width: float = 9.0, max_panels: int = 4) -> str:
    """Each instrument's price with its fills on it: buys ▲ green, sells ▼ red. Without a price
    series the fills' own prices draw the line (marked so in the panel's title)."""
    insts = list(dict.fromkeys([*prices, *(f["instrument"] for f in fills if f.get("qty"))]))[:max_panels]
    if not insts:
        return empty_svg("no prices or fills yet", width)
    plt = _pyplot()
    fig, axes = plt.subplots(len(insts), 1, figsize=(width, 2.3 * len(insts) + 0.3), squeeze=False, sharex=True)
    for ax, sym in zip((a[0] for a in axes), insts, strict=True):
        mine = [f for f in fills if f["instrument"] == sym and f.get("qty")]
        line = prices.get(sym) or [(f["ts"], f["price"]) for f in mine]
        if line:
            ax.plot(_times([p[0] for p in line]), [p[1] for p in line], color=INK if sym in prices else MUTED,
                    linewidth=0.9 if sym in prices else 0.6)
        for side, marker, color in (("buy", "^", UP), ("sell", "v", DOWN)):
            pts = [f for f in mine if f["side"] == side]
            if pts:
                ax.scatter(_times([f["ts"] for f in pts]), [f["price"] for f in pts], marker=marker, s=26,
                           color=color, zorder=3, label=f"{side} ({len(pts)})", edgecolors="white", linewidths=0.4)
        ax.set_title(sym if sym in prices else f"{sym} (fill prices)", loc="left", fontsize=8, color=INK)
        if mine:
            ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    _time_axis(axes[-1][0])
    return _svg(fig)


def bars_svg(counts: dict[str, float], label: str, width: float = 4.4) -> str:
    """Horizontal bars (exit reasons, skip reasons), largest first."""
    if not counts:
        return empty_svg("none", width, 0.8)
    plt = _pyplot()
    items = sorted(counts.items(), key=lambda kv: kv[1])[-12:]
    fig, ax = plt.subplots(figsize=(width, 0.3 * len(items) + 0.6))
    ax.barh([k for k, _ in items], [v for _, v in items], color=LINE, height=0.6)
    ax.set_xlabel(label)
    ax.grid(axis="y", visible=False)
    return _svg(fig)


def sparkline_svg(values: Sequence[float], width: int = 120, height: int = 24) -> str:
    """A tiny PnL line, green if it ends above where it started, red below."""
    if len(values) < 2:
        return f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"></svg>'
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(values) - 1
    pts = " ".join(f"{i * (width - 2) / n + 1:.1f},{height - 2 - (v - lo) * (height - 4) / span:.1f}"
                   for i, v in enumerate(values))
    color = UP if values[-1] >= values[0] else DOWN
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<polyline fill="none" stroke="{color}" stroke-width="1.3" points="{pts}"/></svg>')
