"""What a running runner prints: transitions, orders, fills, and a periodic PnL line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console

from runner.engine.console import WIDTH, QuoteDigest, cashflow_kind, cashflow_text, num
from runner.ledger.models import Transition
from runner.ledger.store import NewFill
from venues.base import OrderRequest

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine


_log = logging.getLogger("runner.console")


def _plain(markup: str) -> str:
    from rich.errors import MarkupError
    from rich.text import Text

    try:
        return Text.from_markup(markup).plain
    except MarkupError:
        return markup


class Reporter:
    def __init__(self, console: Console | None = None, quiet: bool = False, verbose: bool = False) -> None:
        self.console = console or Console(file=sys.stdout, highlight=False, soft_wrap=verbose,
                                          width=None if verbose else WIDTH)
        self.quiet = quiet
        self.verbose = verbose  # every quote order and fill, lines not cut to 80 columns
        self.digest = QuoteDigest()
        self._quotes: set[str] = set()  # client ids of quote orders, for their fills

    def _line(self, text: str, level: int = logging.INFO) -> None:
        if _log.isEnabledFor(level):  # the log file (runner.logs) gets every line, whole and plain
            _log.log(level, _plain(text))
        if not self.quiet:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            self.console.print(f"[dim]{stamp}[/dim] {text}", overflow="ellipsis", no_wrap=not self.verbose)
            self.console.file.flush()

    def info(self, text: str) -> None:
        self._line(text)

    def error(self, text: str) -> None:
        self._line(f"[red]error[/red] {text}", logging.ERROR)

    def transition(self, t: Transition) -> None:
        detail = f" ({t.detail})" if t.detail else ""
        self._line(f"[bold]{t.variant}[/bold] {t.from_state} -> [cyan]{t.to_state}[/cyan] "
                   f"[{t.actor}: {t.reason}]{detail}")

    def order(self, engine: VariantEngine, req: OrderRequest, purpose: str) -> None:
        if self.quiet:
            return
        if purpose == "quote" and not self.verbose:
            self.digest.order(engine.id, req.instrument)
            if len(self._quotes) > 20_000:
                self._quotes.clear()  # a fill of a forgotten quote prints its own line: harmless
            self._quotes.add(req.client_order_id)
            return
        self._line(f"[bold]{engine.id}[/bold] order {req.side.value} {req.qty} {req.instrument} "
                   f"@ {req.price} {req.tif.value} ({purpose}) id={req.client_order_id[:8]}")

    def fill(self, engine: VariantEngine, f: NewFill) -> None:
        if (kind := cashflow_kind(f)) is not None:
            self._line(f"[bold]{engine.id}[/bold] [magenta]{cashflow_text(kind, f)}[/magenta]")
            return
        if f.client_order_id in self._quotes:
            self.digest.fill(engine.id, f)
            return
        pos = engine.positions.get(f.instrument)
        self._line(f"[bold]{engine.id}[/bold] [green]fill[/green] {f.side} {f.qty} {f.instrument} @ {f.price} "
                   f"fee {num(f.fee)} -> pos {num(pos.qty) if pos else 0}")

    def summary(self, engines: list[VariantEngine]) -> None:
        held = {e.id: ", ".join(f"{s} {p.qty}" for s, p in e.positions.items() if p.qty) or "flat" for e in engines}
        for vid, text in self.digest.flush(held):
            self._line(f"[bold]{vid}[/bold] {text}")
        for e in engines:
            pnl = e.realized() + e.unrealized()
            pos = ", ".join(f"{s} {p.qty}" for s, p in e.positions.items() if p.qty) or "flat"
            self._line(f"[bold]{e.id}[/bold] {e.state.value}: {pos}; PnL {pnl:.2f}")
