"""A request budget per account, from the venue's published limits, shared by every call.

Each venue states its limits as weight per window (Hyperliquid 1,200 a minute per address,
an ``l2Book`` weighing 2; Kalshi's tiers as reads and writes per second; Alpaca 200 calls a
minute; OKX 20 book requests per 2 s). A token bucket per limit refills continuously. Book
polls (the REST fallback of a stream that is down, or of an account without one) may use
``1 - poll_reserve`` (half) of the bucket's *rate*, with a burst of ``POLL_BURST_S`` of it:
paced, so books arrive every second at the start and ever after. (A floor on the bucket let
them spend their half of the minute in the first seconds and then refused every poll until
that left the rolling window, about 50 s without a book after a busy start.) Other reads
(fills, lookups, reconciliation, audits) may not spend the last ``reserve`` of a bucket: that
share is kept for order entry and cancels, which therefore always go first. A 429 closes the
account to reads for the venue's retry hint (sending into a ban only lengthens it); orders and
cancels are not held back here, because their own retry (the cancel backoff, the engine's
transient backoff) already waits out the same hint and a cancel must not queue behind reads.
Any answered request reopens the gate early: the ban is evidently over.

Nothing here sleeps: a refused call raises :class:`TransientError` carrying ``retry_after``,
so the caller (the engine's backoff, or the cancel retry) decides when to come back and no
trading loop ever waits on another account's budget. The state is readable as plain data
(:meth:`RequestBudget.status`) for ``runner status --json``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from runner.errors import BudgetError, TransientError

T = TypeVar("T")


class Priority(IntEnum):
    CANCEL = 0  # cancels: may spend everything, so a stop can always take its orders off the book
    ORDER = 1  # order entry: may spend the reserve, but not the last share kept for cancels
    READ = 2  # fills, positions, order lookups, audits: stop at the reserve
    POLL = 3  # books by REST while the stream is down: only the top share, so fills still get read


_POLLING: ContextVar[bool] = ContextVar("budget_polling", default=False)


@contextmanager
def polling() -> Iterator[None]:
    """Reads made inside are book polls (the stream's REST fallback): they spend at ``POLL``,
    whatever priority the adapter's own plumbing gives a read."""
    token = _POLLING.set(True)
    try:
        yield
    finally:
        _POLLING.reset(token)


@dataclass(frozen=True, slots=True)
class Limit:
    """``capacity`` weight per ``window_s`` seconds, as the venue publishes it."""

    capacity: float
    window_s: float
    reserve: float = 0.2  # share of the capacity only orders and cancels may spend
    cancel_reserve: float = 0.05  # share of it only cancels may spend (a quoting storm cannot use it)
    poll_reserve: float = 0.5  # share of the rate that book polling leaves to fills, lookups, orders and cancels

    @property
    def rate(self) -> float:
        return self.capacity / self.window_s

    @property
    def poll_rate(self) -> float:
        return self.rate * (1.0 - self.poll_reserve)

    @property
    def poll_burst(self) -> float:
        """The most polls may take at once: ``POLL_BURST_S`` of their rate, within their share."""
        return min(self.poll_rate * POLL_BURST_S, self.capacity * (1.0 - self.poll_reserve))

    def scaled(self, factor: float) -> Limit:
        return Limit(self.capacity * factor, self.window_s, self.reserve, self.cancel_reserve, self.poll_reserve)


# Published limits by adapter name (sources in the README, "Rate limits"). Bucket names are
# the adapter's own: it says which bucket each call spends.
PUBLISHED: dict[str, dict[str, Limit]] = {
    "hyperliquid": {"rest": Limit(1200, 60)},  # weight per minute per address; l2Book 2, info 20, action 1
    "alpaca": {"rest": Limit(200, 60)},  # calls per minute per account
    "ccxt": {"rest": Limit(20, 2)},  # OKX: 20 requests per 2 s; create() uses the exchange's rateLimit
    "kalshi": {"read": Limit(20, 1), "write": Limit(10, 1)},  # basic tier
    "sim": {},  # in process: no limit
}

KALSHI_TIERS: dict[str, dict[str, Limit]] = {
    "basic": {"read": Limit(20, 1), "write": Limit(10, 1)},
    "advanced": {"read": Limit(30, 1), "write": Limit(30, 1)},
    "premier": {"read": Limit(100, 1), "write": Limit(100, 1)},
    "prime": {"read": Limit(400, 1), "write": Limit(400, 1)},
}


MINUTE_S = 60.0  # ``status`` reports use over the last minute against the limit per minute
POLL_BURST_S = 5.0  # book polls may bunch up this many seconds of their rate (a start, a reconnect)


class _Bucket:
    __slots__ = ("limit", "tokens", "poll_tokens", "stamp", "spent", "requests", "refused", "minute")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = limit.capacity
        self.poll_tokens = limit.poll_burst  # the book polls' own pace (see the module docstring)
        self.stamp = now
        self.spent: deque[tuple[float, float]] = deque()  # (time, weight) within the last window
        self.requests = 0
        self.refused = 0
        self.minute: deque[tuple[float, float, int]] = deque()  # (time, weight, 1 if a request) of the last minute

    def refill(self, now: float) -> None:
        lim = self.limit
        self.tokens = min(lim.capacity, self.tokens + (now - self.stamp) * lim.rate)
        self.poll_tokens = min(lim.poll_burst, self.poll_tokens + (now - self.stamp) * lim.poll_rate)
        self.stamp = now
        while self.spent and self.spent[0][0] <= now - lim.window_s:
            self.spent.popleft()
        while self.minute and self.minute[0][0] <= now - MINUTE_S:
            self.minute.popleft()

    def window_sum(self) -> float:
        return sum(w for _, w in self.spent)

    def frees_in(self, need: float, now: float) -> float:
        """How long until ``need`` weight leaves the rolling window."""
        got = 0.0
        for t, w in self.spent:
            got += w
            if got >= need - 1e-9:
                return max(0.0, t + self.limit.window_s - now)
        return self.limit.window_s

    def floor(self, priority: Priority) -> float:
        if priority is Priority.CANCEL:
            return 0.0
        if priority is Priority.ORDER:  # whole requests: a 10-a-second bucket keeps none back
            return float(int(self.limit.capacity * self.limit.cancel_reserve))
        return self.limit.capacity * self.limit.reserve  # polls too: their share is a pace (spend)


class RequestBudget:
    """The budget of one account: buckets by name, one 429 gate, counters. Thread-safe (the
    stream thread resyncs through the same budget as the trading loop)."""

    def __init__(self, account: str, limits: Mapping[str, Limit], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.account = account
        self._clock = clock
        now = clock()
        self.limits = dict(limits)
        self._buckets = {name: _Bucket(lim, now) for name, lim in limits.items()}
        self._blocked_until = 0.0
        self._rate_limited = 0
        self._lock = threading.Lock()

    def spend(self, weight: float = 1.0, *, bucket: str = "rest", priority: Priority = Priority.READ) -> None:
        """Take ``weight`` from ``bucket`` or raise TransientError with the wait as retry_after.
        An unknown bucket (a venue with no published limit for it) is free."""
        if priority is Priority.READ and _POLLING.get():
            priority = Priority.POLL
        with self._lock:
            now = self._clock()
            if now < self._blocked_until and priority >= Priority.READ:
                wait = self._blocked_until - now
                b = self._buckets.get(bucket)
                if b is not None:
                    b.refused += 1
                raise TransientError(f"{self.account}: rate limited by the venue; retry in {wait:.2f}s",
                                     venue=self.account, retry_after=wait)
            b = self._buckets.get(bucket)
            if b is None:
                return
            b.refill(now)
            floor = b.floor(priority)
            # the bucket's tokens, and the window's sum: a full bucket after a quiet spell must
            # not let a rolling window hold more than the venue publishes (twice it, otherwise)
            free = min(b.tokens, b.limit.capacity - b.window_sum())
            if free - weight < floor - 1e-9:  # float refill: 0.3 s at 200/min is 0.999...
                b.refused += 1
                wait = max((weight + floor - b.tokens) / b.limit.rate, b.frees_in(weight + floor - free, now))
                raise BudgetError(
                    f"{self.account}: request budget {bucket!r} spent ({b.limit.capacity:g} per "
                    f"{b.limit.window_s:g}s); retry in {wait:.2f}s", venue=self.account, retry_after=wait)
            if priority is Priority.POLL:
                if b.poll_tokens - weight < -1e-9:
                    b.refused += 1
                    wait = (weight - b.poll_tokens) / max(b.limit.poll_rate, 1e-9)
                    raise BudgetError(
                        f"{self.account}: book polls' share of {bucket!r} spent ({b.limit.poll_rate * 60:g} a "
                        f"minute); retry in {wait:.2f}s", venue=self.account, retry_after=wait)
                b.poll_tokens -= weight
            b.tokens -= weight
            b.requests += 1
            b.spent.append((now, weight))
            b.minute.append((now, weight, 1))

    def charge(self, weight: float, *, bucket: str = "rest") -> None:
        """Weight the venue counts only after answering (Hyperliquid: 1 per 20 fills returned):
        taken without refusal, so the bucket may go below zero and later calls wait longer."""
        with self._lock:
            b = self._buckets.get(bucket)
            if b is None or weight <= 0:
                return
            now = self._clock()
            b.refill(now)
            b.tokens -= weight
            b.spent.append((now, weight))
            b.minute.append((now, weight, 0))

    def penalize(self, retry_after: float | None) -> None:
        """The venue answered 429: no read on this account before its retry hint has passed."""
        with self._lock:
            self._rate_limited += 1
            until = self._clock() + max(retry_after or 0.0, 0.0)
            self._blocked_until = max(self._blocked_until, until)

    def answered(self) -> None:
        """A request just went through: the venue takes calls again, whatever the hint said."""
        if self._blocked_until:
            with self._lock:
                self._blocked_until = 0.0

    def call(self, fn: Callable[[], T], weight: float = 1.0, *, bucket: str = "rest",
             priority: Priority = Priority.READ) -> T:
        """Spend, then call; a rate-limit answer (TransientError with a retry hint) closes the gate."""
        self.spend(weight, bucket=bucket, priority=priority)
        try:
            out = fn()
        except TransientError as exc:
            if exc.retry_after is not None:
                self.penalize(exc.retry_after)
            raise
        self.answered()
        return out

    def status(self) -> dict[str, Any]:
        """Plain data: what each bucket holds and spent over its last window, refusals, 429s."""
        with self._lock:
            now = self._clock()
            out: dict[str, Any] = {"account": self.account,
                                   "blocked_for_s": round(max(0.0, self._blocked_until - now), 3),
                                   "rate_limited": self._rate_limited, "buckets": {}}
            for name, b in self._buckets.items():
                b.refill(now)
                out["buckets"][name] = {
                    "capacity": b.limit.capacity, "window_s": b.limit.window_s,
                    "available": round(b.tokens, 3), "spent_in_window": round(sum(w for _, w in b.spent), 3),
                    "requests": b.requests, "refused": b.refused,
                    "requests_last_min": sum(n for _, _, n in b.minute),
                    "weight_last_min": round(sum(w for _, w, _ in b.minute), 3),
                    "limit_per_min": round(b.limit.capacity * MINUTE_S / b.limit.window_s, 3),
                }
            return out


# weak: a budget lives as long as an adapter of the account does (a closed deployment's goes)
_SHARED: weakref.WeakValueDictionary[tuple[str, str], RequestBudget] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def shared_budget(account: str, adapter: str, limits: Mapping[str, Limit]) -> RequestBudget:
    """The one budget of ``account`` in this process: the trading loop's adapter and the
    audits' own adapters spend from the same buckets, as the venue counts them together.
    Limits changed in venues.yaml make a new budget."""
    key = (account, adapter)
    with _SHARED_LOCK:
        b = _SHARED.get(key)
        if b is None or b.limits != dict(limits):
            b = _SHARED[key] = RequestBudget(account, limits)
        return b


def forget_shared_budgets() -> None:
    """Drop every shared budget (tests: each starts with the venue's full limits)."""
    with _SHARED_LOCK:
        _SHARED.clear()


def published(adapter: str, *, scale: float = 1.0, overrides: Mapping[str, Limit] | None = None) -> dict[str, Limit]:
    """The published limits of ``adapter`` times ``scale`` (headroom for other clients of the
    same address or IP), with per-bucket ``overrides``."""
    limits = {k: v.scaled(scale) for k, v in PUBLISHED.get(adapter, {}).items()}
    limits.update(overrides or {})
    return limits
