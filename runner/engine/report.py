"""What a running runner prints: transitions, orders, fills, and a periodic PnL line.

Every value printed here comes from files, the operator, venues or the ledger, so it is
printed as text (``rich.markup.escape``): a `[/]` in a pause reason or an instrument name is
shown, never parsed as console markup. Only this module's own styling is markup.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url

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


class Reporter:
    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(file=sys.stdout, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self.secrets: list[str] = []  # redacted from every line (and URL passwords masked)

    def _e(self, value: object) -> str:
        return escape(redact(str(value), self.secrets))

    def _line(self, markup: str) -> None:
        """Print a line of this module's markup; dynamic values in it are already escaped."""
        if not self.quiet:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            self.console.print(f"[dim]{stamp}[/dim] {markup}")
            self.console.file.flush()

    def info(self, text: str) -> None:
        self._line(self._e(text))

    def error(self, text: str) -> None:
        self._line(f"[red]error[/red] {self._e(text)}")

    def transition(self, t: Transition) -> None:
        detail = f" ({self._e(t.detail)})" if t.detail else ""
        self._line(f"[bold]{self._e(t.variant)}[/bold] {self._e(t.from_state)} -> [cyan]{self._e(t.to_state)}[/cyan] "
                   f"{self._e(f'[{t.actor}: {t.reason}]')}{detail}")

    def order(self, engine: VariantEngine, req: OrderRequest, purpose: str) -> None:
        if self.quiet:
            return
        self._line(f"[bold]{self._e(engine.id)}[/bold] "
                   + self._e(f"order {req.side.value} {req.qty} {req.instrument} @ {req.price} {req.tif.value} "
                        f"({purpose}) id={req.client_order_id[:12]}"))

    def fill(self, engine: VariantEngine, f: NewFill) -> None:
        pos = engine.positions.get(f.instrument)
        self._line(f"[bold]{self._e(engine.id)}[/bold] [green]fill[/green] "
                   + self._e(f"{f.side} {f.qty} {f.instrument} @ {f.price} fee {f.fee} -> position {pos.qty if pos else 0}"))

    def summary(self, engines: list[VariantEngine]) -> None:
        for e in engines:
            from runner.engine.report_metrics import account_currency

            pnl = e.realized() + e.unrealized()  # account currency, marked at the mid
            pos = ", ".join(f"{s} {p.qty}" for s, p in e.positions.items() if p.qty) or "flat"
            self._line(f"[bold]{self._e(e.id)}[/bold] " + self._e(f"{e.state.value}: {pos}; PnL {pnl:.2f} {account_currency(e)}"))
