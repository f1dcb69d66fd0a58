"""Backtest metrics, computed streaming: nothing is kept per bar.

Sharpe comes from DAILY returns of the marked equity (the last equity of each UTC day with
data against the one before; the first day against the capital), annualized by sqrt(365),
and is None below ``MIN_DAYS`` days: annualizing per-event returns with no minimum sample
printed 54, 332 and -4,136 for runs of a few hours. Equity is in the account's currency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY = 86400.0
MIN_DAYS = 30


@dataclass
class EquityStats:
    capital: float
    n: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    last_equity: float = 0.0
    peak: float = 0.0
    max_drawdown: float = 0.0
    exposed: int = 0
    _zeros: int = 0  # flat bars with unchanged equity not counted in ``n`` yet
    _next_day: float = math.inf  # first second of the next UTC day: a bar at or past it closes the day
    _prev_close: float = 0.0  # equity at the close of the previous day with data (capital at first)
    _days: int = 0  # daily returns folded so far
    _dmean: float = 0.0
    _dm2: float = 0.0

    def flat(self, ts: float, equity: float) -> None:
        """A bar with no position: if equity did not move, just count it."""
        if self.n and equity == self.last_equity:
            if ts >= self._next_day:
                self._roll(ts)
            self._zeros += 1
            self.last_ts = ts
        else:
            self.update(ts, equity, False)

    def _roll(self, ts: float) -> None:
        """Close the day of ``last_ts``: fold its return (Welford) and start the day of ``ts``."""
        r = self.last_equity / self._prev_close - 1.0 if self._prev_close else 0.0
        self._days += 1
        d = r - self._dmean
        self._dmean += d / self._days
        self._dm2 += d * (r - self._dmean)
        self._prev_close = self.last_equity
        self._next_day = (ts // DAY + 1.0) * DAY

    def update(self, ts: float, equity: float, exposed: bool) -> None:
        if self.n == 0 and not self._zeros:
            self.first_ts, self.last_equity, self.peak = ts, self.capital, self.capital
            self._prev_close = self.capital
            self._next_day = (ts // DAY + 1.0) * DAY
        elif ts >= self._next_day:
            self._roll(ts)
        self.n += 1 + self._zeros
        self._zeros = 0
        self.last_equity = equity
        self.last_ts = ts
        if equity > self.peak:
            self.peak = equity
        elif self.peak > 0:
            dd = (self.peak - equity) / self.peak
            if dd > self.max_drawdown:
                self.max_drawdown = dd
        if exposed:
            self.exposed += 1

    def days(self) -> int:
        """UTC days with data so far (the current one included)."""
        return self._days + 1 if self.n or self._zeros else 0

    def sharpe(self) -> float | None:
        """Annualized Sharpe of daily returns; None below MIN_DAYS days or with no variance."""
        if self.days() < MIN_DAYS:
            return None
        r = self.last_equity / self._prev_close - 1.0 if self._prev_close else 0.0  # today, so far
        n = self._days + 1
        d = r - self._dmean
        mean = self._dmean + d / n
        m2 = self._dm2 + d * (r - mean)
        std = math.sqrt(m2 / (n - 1)) if n > 1 else 0.0
        return mean / std * math.sqrt(365.0) if std > 0 else None

    def total_return(self) -> float:
        return self.last_equity / self.capital - 1.0 if self.n else 0.0

    def exposure(self) -> float:
        total = self.n + self._zeros
        return self.exposed / total if total else 0.0
