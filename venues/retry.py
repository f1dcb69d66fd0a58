"""Retry a call while the venue answers transiently, waiting exponentially longer.

Cancels are the one call an adapter retries itself: a resting order we want gone must not
wait for the next engine tick, but a venue that is down must not be hammered either. A
cancel is idempotent, so an ambiguous answer (timeout) is retried too. The sleep is injected
so tests run on a fake clock. Shared by every adapter (venues never import each other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from runner.errors import AmbiguousError, TransientError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 8.0

    def delay(self, retry: int) -> float:
        """Wait before retry number ``retry`` (0-based): base, 2*base, 4*base... capped."""
        return min(self.cap_s, self.base_s * (2**retry))


def with_backoff(fn: Callable[[], T], backoff: Backoff, sleep: Callable[[float], None]) -> T:
    """Call ``fn``; on a transient or ambiguous error wait and retry, ``backoff.attempts`` calls in all.

    A venue's own Retry-After is honoured when longer than our step; one longer than the cap
    is not waited out here: the error goes up and the engine schedules the retry.
    """
    for retry in range(backoff.attempts):
        try:
            return fn()
        except (TransientError, AmbiguousError) as exc:
            if retry == backoff.attempts - 1:
                raise
            wait = backoff.delay(retry)
            hint = getattr(exc, "retry_after", None)
            if hint is not None:
                if hint > backoff.cap_s:
                    raise
                wait = max(wait, hint)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
