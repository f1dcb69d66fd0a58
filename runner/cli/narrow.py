"""`status` at 80 columns: the columns that matter, PnL never truncated.

Plain fixed-width text rather than a rich table: rich shrinks every column when the table is too
wide, PnL included. Here id, state and the two PnL columns keep their full width, the position and
the reason share what is left and are cut with an ellipsis (`--wide` shows everything).
"""

from __future__ import annotations

import shutil
from typing import Any

import typer

WIDTH = 80


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    return (text[: max(width - 1, 0)] + "…")[:width] if width > 0 else ""


def _position(v: dict[str, Any]) -> str:
    legs = v.get("positions") or {}
    if len(legs) <= 1:
        return f"{v['position']:.6g}"
    return ", ".join(f"{sym} {qty:.6g}" for sym, qty in legs.items())


def _state(v: dict[str, Any]) -> str:
    w = v.get("warming")
    state = f"warming {w['have']}/{w['need']}" if w else v["state"]
    return state if _run(v) else f"{state}*"


def _run(v: dict[str, Any]) -> bool:
    return v.get("running", True) or v["state"] in ("retired", "unknown")


def narrow_rows(variants: list[dict[str, Any]], width: int = WIDTH) -> list[str]:
    """The lines of the table, each at most ``width`` characters (unless an id or PnL alone is wider)."""
    head = ["id", "state", "pnl", "today", "position", "why"]
    rows = [[v["id"], _state(v), f"{v['pnl']:,.2f}", f"{v['pnl_today']:,.2f}", _position(v),
             f"{v['reason']}: {v['detail']}".strip(": ")] for v in variants]
    fixed = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    rest = width - sum(fixed) - 2 * 5  # two spaces between the six columns
    pos_w = min(max(len(r[4]) for r in [head, *rows]), max(rest // 2, 8))
    why_w = max(rest - pos_w, 0)
    out = []
    for r in [head, *rows]:
        cells = [r[0].ljust(fixed[0]), r[1].ljust(fixed[1]), r[2].rjust(fixed[2]), r[3].rjust(fixed[3]),
                 _cut(r[4], pos_w), _cut(r[5], why_w)]
        out.append("  ".join(cells).rstrip())
    return out


def narrow_status(variants: list[dict[str, Any]]) -> None:
    width = min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns)
    for line in narrow_rows(variants, width):
        typer.echo(line)
    if not all(_run(v) for v in variants):
        typer.echo("* not being run: no runner is running")
