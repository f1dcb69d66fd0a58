"""What a running runner prints: transitions, orders, fills, and a periodic PnL line.

Every value printed here comes from files, the operator, venues or the ledger, so it is
printed as text (``rich.markup.escape``): a `[/]` in a pause reason or an instrument name is
shown, never parsed as console markup. Only this module's own styling is markup.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url

from runner.engine.console import WIDTH, QuoteDigest, cashflow_kind, cashflow_text, num
from runner.ledger.models import Transition
from runner.ledger.store import NewFill
from runner.privacy import redact
from runner.spec.deployment_config import VenuesConfig
from venues.base import OrderRequest

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine


def configured_secrets(venues: VenuesConfig, db_url: str = "") -> list[str]:
    """The values of every credential venues.yaml names, and the ledger's password."""
    values = [v for acct in venues.accounts.values() for env in acct.credentials.values() if (v := os.environ.get(env))]
    try:
        pw = make_url(db_url).password if db_url else None
    except Exception:  # noqa: BLE001 - an unparsable URL has no password to learn; mask_text still applies
        pw = None
    return [*values, *([str(pw)] if pw else [])]


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
        self.secrets: list[str] = []  # redacted from every line (and URL passwords masked)

    def _e(self, value: object) -> str:
        return escape(redact(str(value), self.secrets))

    def _line(self, text: str, level: int = logging.INFO) -> None:
        """Print a line of this module's markup; dynamic values in it are already escaped."""
        if _log.isEnabledFor(level):  # the log file (runner.logs) gets every line, whole and plain
            _log.log(level, _plain(text))
        if not self.quiet:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            self.console.print(f"[dim]{stamp}[/dim] {text}", overflow="ellipsis", no_wrap=not self.verbose)
            self.console.file.flush()

    def info(self, text: str) -> None:
        self._line(self._e(text))

    def error(self, text: str) -> None:
        self._line(f"[red]error[/red] {self._e(text)}", logging.ERROR)

    def transition(self, t: Transition) -> None:
        detail = f" ({self._e(t.detail)})" if t.detail else ""
        self._line(f"[bold]{self._e(t.variant)}[/bold] {self._e(t.from_state)} -> [cyan]{self._e(t.to_state)}[/cyan] "
                   f"{self._e(f'[{t.actor}: {t.reason}]')}{detail}")

    def order(self, engine: VariantEngine, req: OrderRequest, purpose: str) -> None:
        if self.quiet:
            return
        if purpose == "quote" and not self.verbose:
            self.digest.order(engine.id, req.instrument)
            if len(self._quotes) > 20_000:
                self._quotes.clear()  # a fill of a forgotten quote prints its own line: harmless
            self._quotes.add(req.client_order_id)
            return
        self._line(f"[bold]{self._e(engine.id)}[/bold] "
                   + self._e(f"order {req.side.value} {req.qty} {req.instrument} @ {req.price} {req.tif.value} "
                             f"({purpose}) id={req.client_order_id[:8]}"))

    def fill(self, engine: VariantEngine, f: NewFill) -> None:
        if (kind := cashflow_kind(f)) is not None:
            self._line(f"[bold]{self._e(engine.id)}[/bold] [magenta]{self._e(cashflow_text(kind, f))}[/magenta]")
            return
        if f.client_order_id in self._quotes:
            self.digest.fill(engine.id, f)
            return
        pos = engine.positions.get(f.instrument)
        self._line(f"[bold]{self._e(engine.id)}[/bold] [green]fill[/green] "
                   + self._e(f"{f.side} {f.qty} {f.instrument} @ {f.price} fee {num(f.fee)} "
                             f"-> pos {num(pos.qty) if pos else 0}"))

    def summary(self, engines: list[VariantEngine]) -> None:
        held = {e.id: ", ".join(f"{s} {p.qty}" for s, p in e.positions.items() if p.qty) or "flat" for e in engines}
        for vid, text in self.digest.flush(held):
            self._line(f"[bold]{self._e(vid)}[/bold] {self._e(text)}")
        for e in engines:
            from runner.engine.report_metrics import account_currency

            pnl = e.realized() + e.unrealized()  # account currency, marked at the mid
            pos = ", ".join(f"{s} {p.qty}" for s, p in e.positions.items() if p.qty) or "flat"
            self._line(f"[bold]{self._e(e.id)}[/bold] " + self._e(f"{e.state.value}: {pos}; PnL {pnl:.2f} {account_currency(e)}"))
