"""Retry bookkeeping of the runtime: backoff cycles of trading, and work that must keep trying.

A backoff cycle is one attempt however many loop ticks it spans; the delay grows
exponentially and a venue's retry hint can only lengthen it. Retiring a variant and starting
one whose venue is unreachable keep trying on the same schedule, quietly: the caller prints
one line per attempt (with its delay), never one per tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.lifecycle import backoff_delay


@dataclass
class Backoff:
    attempts: int = 0
    until: float = 0.0
    ok_mark: int = 0  # engine.submits_ok when the last transient error came

    def start_cycle(self, now: float, base_s: float, cap_s: float, retry_after: float | None, ok_mark: int) -> float:
        """A new attempt: count it and set its delay; returns the delay."""
        self.attempts += 1
        self.ok_mark = ok_mark
        delay = backoff_delay(self.attempts, base_s, cap_s, retry_after)
        self.until = now + delay
        return delay


class Retries:
    """Keyed retry schedule: ``due`` says whether to try now, ``failed`` schedules the next."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self.state: dict[str, Backoff] = {}

    def due(self, key: str, now: float) -> bool:
        b = self.state.get(key)
        return b is None or now >= b.until

    def failed(self, key: str, now: float, retry_after: float | None = None) -> tuple[int, float]:
        """Record a failed attempt; returns (attempt number, delay before the next)."""
        b = self.state.setdefault(key, Backoff())
        delay = b.start_cycle(now, self.base_s, self.cap_s, retry_after, 0)
        return b.attempts, delay

    def ok(self, key: str) -> None:
        self.state.pop(key, None)

    def forget_blocked(self) -> None:
        """Drop the keys set to wait for ever (``until`` infinite): they may be tried again."""
        for key in [k for k, b in self.state.items() if b.until == float("inf")]:
            del self.state[key]
