"""What the console says about fills, so an operator can leave it open.

A market maker re-quotes and gets filled all day: one line per quote order and per quote fill
was about 300 lines a minute. By default those are summed per variant over the summary interval
(``QuoteDigest``); ``runner run --verbose`` prints each. Funding payments and settlements are
booked as fill rows (see ``cashflows``) but are cash flows to the operator, and print as such.
Plain text out; the ``Reporter`` escapes and styles it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from runner.ledger.store import NewFill

WIDTH = 80
ZERO = Decimal(0)


def num(d: Decimal) -> str:
    """A Decimal without trailing zeros and never in exponent form (4.24000000 -> 4.24, 100 -> 100)."""
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cashflow_kind(f: NewFill) -> str | None:
    """``funding`` or ``settlement`` for the rows ``cashflows`` and venue records book, else None (a trade)."""
    if f.liquidity in ("funding", "settlement"):
        return f.liquidity
    if ":funding:" in f.fill_key:
        return "funding"
    if ":settle:" in f.fill_key:
        return "settlement"
    return None


def cashflow_text(kind: str, f: NewFill) -> str:
    """Funding is ``-fee`` received; a settlement pays qty x price (the payout or 0), as the ledger counts it."""
    if kind == "funding":
        return f"funding {f.instrument} {-f.fee:+.4f} (cash flow)"
    return f"settlement {f.instrument} {num(f.qty)} at {num(f.price)}: {f.qty * f.price:+.2f} (cash flow)"


@dataclass
class _Tally:
    orders: int = 0
    fills: int = 0
    bought: Decimal = ZERO
    sold: Decimal = ZERO
    fees: Decimal = ZERO
    instruments: set[str] = field(default_factory=set)


class QuoteDigest:
    """Quote orders and quote fills per variant since the last ``flush``."""

    def __init__(self) -> None:
        self._t: dict[str, _Tally] = {}

    def order(self, variant: str, instrument: str) -> None:
        t = self._t.setdefault(variant, _Tally())
        t.orders += 1
        t.instruments.add(instrument)

    def fill(self, variant: str, f: NewFill) -> None:
        t = self._t.setdefault(variant, _Tally())
        t.fills += 1
        t.fees += f.fee
        t.instruments.add(f.instrument)
        if f.side == "buy":
            t.bought += f.qty
        else:
            t.sold += f.qty

    def flush(self, positions: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """(variant, text) lines, then forget; ``positions``: variant -> its position text."""
        out = []
        for v, t in sorted(self._t.items()):
            text = f"quotes: {t.orders} sent, {t.fills} filled"
            if t.fills:
                text += f" (bought {num(t.bought)}, sold {num(t.sold)}, fees {t.fees:.2f})"
            if positions and v in positions:
                text += f" -> {positions[v]}"
            out.append((v, text))
        self._t.clear()
        return out


def fit(text: str, width: int = WIDTH) -> str:
    """Cut a plain line to ``width`` with an ellipsis (a log line stays whole with --verbose)."""
    return text if len(text) <= width else text[: width - 1] + "…"
