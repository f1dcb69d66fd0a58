"""Backtest metrics, computed streaming: nothing is kept per bar."""

from __future__ import annotations

import math
from dataclasses import dataclass


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
    _mean: float = 0.0
    _m2: float = 0.0
    _zeros: int = 0  # flat bars not folded in yet (returns of exactly 0)

    def flat(self, ts: float, equity: float) -> None:
        """A bar with no position: if equity did not move, just count a zero return."""
        if self.n and equity == self.last_equity:
            self._zeros += 1
            self.last_ts = ts
        else:
            self.update(ts, equity, False)

    def _fold(self) -> None:
        """Merge the pending zero returns into the running mean and M2 (Chan et al.)."""
        k, self._zeros = self._zeros, 0
        n = self.n + k
        delta = -self._mean
        self._mean += delta * k / n
        self._m2 += delta * delta * self.n * k / n
        self.n = n

    def update(self, ts: float, equity: float, exposed: bool) -> None:
        if self._zeros:
            self._fold()
        if self.n == 0:
            self.first_ts, self.last_equity, self.peak = ts, self.capital, self.capital
        r = equity / self.last_equity - 1.0 if self.last_equity else 0.0
        self.n += 1
        d = r - self._mean
        self._mean += d / self.n
        self._m2 += d * (r - self._mean)
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

    def sharpe(self) -> float:
        """Annualized from the average bar interval of the data."""
        if self._zeros:
            self._fold()
        if self.n < 3 or self._m2 <= 0:
            return 0.0
        std = math.sqrt(self._m2 / (self.n - 1))
        interval = (self.last_ts - self.first_ts) / (self.n - 1) if self.last_ts > self.first_ts else 60.0
        periods = 365.25 * 86400 / max(interval, 1e-9)
        return self._mean / std * math.sqrt(periods) if std > 0 else 0.0

    def total_return(self) -> float:
        return self.last_equity / self.capital - 1.0 if self.n else 0.0

    def exposure(self) -> float:
        if self._zeros:
            self._fold()
        return self.exposed / self.n if self.n else 0.0
