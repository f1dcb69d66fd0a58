"""Starting a variant in two halves: the control thread's (file, kind, lease) and its account's
(the venue).

A start needs the venue: the adapter is built and connected (its instruments recorded), its
capabilities checked, the strategy warmed from the venue's history, the orders the ledger
thinks open looked up by client id. The control thread renews every lease, adopts operator
transitions, deploys and runs the audits' clock for every account; a venue hanging during a
start there stalled them all. So while account threads trade, the control thread only queues
the venue half here and the account's own thread runs it at the top of its next step: a hung
venue holds its own account only. The variant stays ``pending`` meanwhile, its lease renewed
(:meth:`StartQueue.variants`), and once the wait is long it says why on its file (``runner
status``). An operator's pause or retire meanwhile is a transition in the ledger like any
other: the engine is built in whatever state the ledger holds when the venue half ends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from runner.ledger.models import Deployment
from runner.spec.load import LoadedVariant

SLOW_S = 10.0  # a start waiting on its venue this long says so on its file


@dataclass
class PendingStart:
    dep: Deployment
    loaded: LoadedVariant
    kind: Any  # the strategy kind's class
    state: Any  # runner.lifecycle.State when it was queued
    since: float = field(default_factory=time.monotonic)
    since_wall: float = field(default_factory=time.time)
    said: bool = False  # the slow note was said on the console
    noted_at: float = 0.0  # monotonic time its note was last checked on its file
    dropped: bool = False  # its lease went to another runner: the venue half builds nothing

    @property
    def account(self) -> str:
        return self.loaded.spec.venue

    @property
    def variant(self) -> str:
        return self.dep.variant

    def waited_s(self) -> float:
        return time.monotonic() - self.since


class StartQueue:
    """Venue halves waiting for (or running on) their account's thread. ``enabled``: queue
    them (account threads run); otherwise the caller runs them inline."""

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._queued: dict[str, list[PendingStart]] = {}  # account -> starts not yet taken
        self._running: dict[str, PendingStart] = {}  # variant -> start its account's thread is in

    def put(self, start: PendingStart) -> None:
        with self._lock:
            self._queued.setdefault(start.account, []).append(start)

    def take(self, account: str) -> list[PendingStart]:
        """The account's queued starts, now running on the caller's thread (see :meth:`done`)."""
        with self._lock:
            starts = self._queued.pop(account, [])
            for s in starts:
                self._running[s.variant] = s
            return starts

    def done(self, start: PendingStart) -> None:
        with self._lock:
            self._running.pop(start.variant, None)

    def waiting(self) -> list[PendingStart]:
        with self._lock:
            return [s for q in self._queued.values() for s in q] + list(self._running.values())

    def holds(self, variant: str) -> bool:
        return any(s.variant == variant for s in self.waiting())

    def variants(self) -> list[str]:
        return [s.variant for s in self.waiting() if not s.dropped]

    def accounts(self) -> set[str]:
        with self._lock:
            return {a for a, q in self._queued.items() if q}

    def drop(self, variant: str) -> None:
        """Another runner holds its lease now: a queued start goes, a running one builds nothing."""
        with self._lock:
            for q in self._queued.values():
                q[:] = [s for s in q if s.variant != variant]
            if variant in self._running:
                self._running[variant].dropped = True

    def slow(self) -> list[PendingStart]:
        """Starts waiting longer than ``SLOW_S``, each at most once a second: their note is
        checked on their file again (a rescan of strategies.d clears a valid file's errors)."""
        now = time.monotonic()
        out = []
        for s in self.waiting():
            if not s.dropped and s.waited_s() >= SLOW_S and now - s.noted_at >= 1.0:
                s.noted_at = now
                out.append(s)
        return out


def slow_note(start: PendingStart) -> str:
    since = time.strftime("%H:%M:%S UTC", time.gmtime(start.since_wall))
    return (f"{start.variant}: starting: waiting for account {start.account} (no answer since {since}); "
            "it stays pending and other accounts trade meanwhile")


def is_slow_note(variant: str, message: str) -> bool:
    return message.startswith(f"{variant}: starting: waiting for account")
