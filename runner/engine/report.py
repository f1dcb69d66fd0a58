"""What a running runner prints: transitions, orders, fills, and a periodic PnL line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console

from runner.ledger.models import Transition
from runner.ledger.store import NewFill
from venues.base import OrderRequest

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine


class Reporter:
    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(file=sys.stdout, highlight=False, soft_wrap=True)
        self.quiet = quiet

    def _line(self, text: str) -> None:
        if not self.quiet:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            self.console.print(f"[dim]{stamp}[/dim] {text}")
            self.console.file.flush()

    def info(self, text: str) -> None:
        self._line(text)

    def error(self, text: str) -> None:
        self._line(f"[red]error[/red] {text}")

    def transition(self, t: Transition) -> None:
        detail = f" ({t.detail})" if t.detail else ""
        self._line(f"[bold]{t.variant}[/bold] {t.from_state} -> [cyan]{t.to_state}[/cyan] "
                   f"[{t.actor}: {t.reason}]{detail}")

    def order(self, engine: VariantEngine, req: OrderRequest, purpose: str) -> None:
        if self.quiet:
            return
        self._line(f"[bold]{engine.id}[/bold] order {req.side.value} {req.qty} {req.instrument} "
                   f"@ {req.price} {req.tif.value} ({purpose}) id={req.client_order_id[:12]}")

    def fill(self, engine: VariantEngine, f: NewFill) -> None:
        pos = engine.positions.get(f.instrument)
        self._line(f"[bold]{engine.id}[/bold] [green]fill[/green] {f.side} {f.qty} {f.instrument} @ {f.price} "
                   f"fee {f.fee} -> position {pos.qty if pos else 0}")

    def summary(self, engines: list[VariantEngine]) -> None:
        for e in engines:
            from runner.engine.report_metrics import account_currency

            pnl = e.realized() + e.unrealized()  # account currency, marked at the mid
            pos = ", ".join(f"{s} {p.qty}" for s, p in e.positions.items() if p.qty) or "flat"
            self._line(f"[bold]{e.id}[/bold] {e.state.value}: {pos}; PnL {pnl:.2f} {account_currency(e)}")
