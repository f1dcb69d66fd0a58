"""Money in the account's currency, and the venues' fee schedules. Pure functions, no I/O.

Prices and quantities stay in the venue's units on orders and fills; every amount that is
summed or compared (PnL, fees, funding, exposure, risk limits, the daily-loss guard, backtest
metrics) goes through :func:`to_account` first, keyed on the instrument's quote unit. A quote
unit ``<CCY>_CENTS`` (Kalshi's legs: prices and fees in cents per contract) is worth 1/100 of
``<CCY>``; any other unit is its own currency. The guard that fired at -$32 with a $20 limit
added Kalshi cents to dollars: this is the one place that says what a cent is.

Fee schedules live here too, so the sim charges what the venue would and a kind can price
an entry net of fees: Kalshi's taker fee is ``ceil(0.07 x C x P x (1 - P))`` dollars rounded
up to the cent (P the price in dollars); elsewhere a maker or taker rate on the notional.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

CENTS_SUFFIX = "_CENTS"
CENTS_QUOTE = "USD" + CENTS_SUFFIX  # Kalshi's legs (and the sim's binary legs): cents per contract
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
KALSHI_TAKER_RATE = Decimal("0.07")
_FEE_QUANTUM = Decimal("0.00000001")  # fees are kept to 1e-8 of the quote unit


def currency_of(quote: str) -> str:
    """The account currency a quote unit is counted in: ``USD_CENTS`` -> ``USD``."""
    return quote[: -len(CENTS_SUFFIX)] if quote.endswith(CENTS_SUFFIX) else quote


def unit_scale(quote: str) -> Decimal:
    """Account-currency value of one quote unit: 0.01 for a cents unit, else 1."""
    return CENT if quote.endswith(CENTS_SUFFIX) else Decimal(1)


def to_account(amount: Decimal, quote: str) -> Decimal:
    """``amount`` in ``quote`` units (a PnL, a fee, a notional) in the account's currency."""
    return amount * CENT if quote.endswith(CENTS_SUFFIX) else amount


def to_account_float(amount: float, quote: str) -> float:
    """The same for signal-side floats (backtest equity curves)."""
    return amount * 0.01 if quote.endswith(CENTS_SUFFIX) else amount


def kalshi_fee_cents(count: Decimal, price_cents: Decimal, rate: Decimal = KALSHI_TAKER_RATE) -> Decimal:
    """Kalshi's fee in cents for ``count`` contracts at ``price_cents``: rate x C x P x (1 - P)
    dollars, rounded up to the next cent."""
    if count <= 0 or rate <= 0:
        return Decimal(0)
    raw = rate * count * price_cents * (HUNDRED - price_cents) / HUNDRED  # cents
    return raw.to_integral_value(rounding=ROUND_CEILING)


def kalshi_fee_cents_float(count: float, price_cents: float, rate: float = 0.07) -> float:
    """:func:`kalshi_fee_cents` for a kind's float signal math (exact Decimal inside)."""
    return float(kalshi_fee_cents(Decimal(repr(count)), Decimal(repr(price_cents)), Decimal(repr(rate))))


def fill_fee(kind: str, quote: str, rate: Decimal, qty: Decimal, price: Decimal) -> Decimal:
    """The fee of one fill in the instrument's quote units, by the venue's published schedule:
    a cents-quoted binary leg (Kalshi) pays ``kalshi_fee_cents`` with ``rate`` as its coefficient
    (0.07 for takers); anything else ``rate`` x notional."""
    if kind == "binary" and quote.endswith(CENTS_SUFFIX):
        return kalshi_fee_cents(qty, price, rate)
    return (qty * price * rate).quantize(_FEE_QUANTUM)
