"""One trading thread per account, so a slow, rate-limited or hanging venue delays only its own
variants.

The runtime splits its step in two: the control part (leases, operator states, deploys,
audits, heartbeat; the main thread) and the trading part of one account (its books, its
variants' decisions and orders, its fills, its open-order polls and retires). An
:class:`AccountWorker` runs the latter for its account on its own thread, at the loop's
interval. Venue calls (and an adapter's cancel retry, which sleeps) therefore block only the
thread of the account they belong to. Each account's variants are touched by that thread alone;
the ledger is written through the same :class:`~runner.ledger.store.Ledger` (each thread gets
its own connection from the pool; the database serializes the commits, and accounts write
disjoint rows: their own variants' orders, fills and positions, their own fill cursor).

Between steps a worker sleeps the loop's interval, or less: an account whose venue streams
books is woken by the next book that arrives (``Wake``), so a streamed event reaches the
strategy at once instead of at the next tick (``bench/stream_bench.py`` measures it).

A ledger outage backs the worker off as it does the main loop; any other fault of a step is
reported (once a minute) and the worker goes on: nothing kills a trading thread but a stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from runner.engine.containment import LEDGER_ERRORS, LedgerOutage, outage_text
from runner.privacy import mask_text

STOP_TIMEOUT_S = 30.0  # AccountWorkers.stop waits this long for the threads by default
MIN_GAP_S = 0.002  # a stream that never pauses still leaves the thread this breather between steps


class Wake:
    """What a worker waits on between steps: a version that moves when new data arrives
    (``version()``) and a wait for it to move (``until(seen, timeout)``)."""

    def __init__(self, version: Callable[[], int], until: Callable[[int, float], object]) -> None:
        self.version = version
        self.until = until


class AccountWorker:
    def __init__(self, account: str, step: Callable[[str], None], interval_s: float,
                 report: Callable[[str], None], on_stop: Callable[[str], None] | None = None,
                 wake: Callable[[str], Wake | None] | None = None, idle_s: float | None = None) -> None:
        self.account = account
        self._idle_s = idle_s  # the ledger server's idle-in-transaction limit (named when it strikes)
        self._wake = wake  # asked after each step: the account's stream may have started since
        self._step = step
        self._interval = interval_s
        self._report = report
        self.on_stop = on_stop  # the clean stop's last act on this thread: cancel resting orders
        self.stopping = threading.Event()
        self.steps = 0  # completed steps (tests and ``status`` see that it moves)
        self.busy_since: float | None = None  # monotonic start of the step in progress
        self._thread = threading.Thread(target=self._main, name=f"account-{account}", daemon=True)
        self._last_fault = -60.0

    def start(self) -> None:
        self._thread.start()

    def stop(self, clean: bool) -> None:
        """Ask the thread to finish its step (and, if ``clean``, cancel its orders) and exit."""
        if not clean:
            self.on_stop = None
        self.stopping.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stalled_s(self) -> float:
        """How long the step in progress has been running (0 when idle)."""
        since = self.busy_since
        return 0.0 if since is None else time.monotonic() - since

    def _main(self) -> None:
        outage = LedgerOutage()
        while not self.stopping.is_set():
            t0 = time.monotonic()
            self.busy_since = t0
            wake = self._wake(self.account) if self._wake is not None else None
            seen = wake.version() if wake is not None else 0
            try:
                self._step(self.account)
            except LEDGER_ERRORS as exc:
                delay = outage.failed()
                self._report(f"{self.account}: {outage_text(exc, outage.attempts, delay, self._idle_s)}")
                self.busy_since = None
                self.stopping.wait(delay)
                continue
            except Exception as exc:  # noqa: BLE001 - a bug must not end the account's trading thread
                if t0 - self._last_fault >= 60.0:
                    self._last_fault = t0
                    self._report(f"{self.account}: trading step failed: {type(exc).__name__}: {mask_text(str(exc))}")
            finally:
                self.busy_since = None
            if outage.recovered():
                self._report(f"{self.account}: ledger reachable again: trading resumes")
            self.steps += 1
            left = max(0.0, self._interval - (time.monotonic() - t0))
            if wake is not None and left > 0:
                wake.until(seen, left)  # a new book ends the wait early
                self.stopping.wait(MIN_GAP_S)
            else:
                self.stopping.wait(left)
        final = self.on_stop
        if final is not None:
            try:
                final(self.account)
            except Exception as exc:  # noqa: BLE001 - reported; the stop goes on
                self._report(f"{self.account}: stopping: {type(exc).__name__}: {mask_text(str(exc))}")


class AccountWorkers:
    """The account threads of one runtime: started as accounts appear, stopped together."""

    def __init__(self, step: Callable[[str], None], interval_s: float, report: Callable[[str], None],
                 on_stop: Callable[[str], None] | None = None, wake: Callable[[str], Wake | None] | None = None,
                 idle_s: float | None = None) -> None:
        self._idle_s = idle_s
        self._step = step
        self._wake = wake
        self._interval = interval_s
        self._report = report
        self._on_stop = on_stop
        self.workers: dict[str, AccountWorker] = {}

    def ensure(self, accounts: list[str]) -> None:
        for account in accounts:
            if account not in self.workers:
                w = AccountWorker(account, self._step, self._interval, self._report, self._on_stop, self._wake,
                                  self._idle_s)
                self.workers[account] = w
                w.start()

    def stop(self, clean: bool, timeout: float = STOP_TIMEOUT_S) -> list[str]:
        """Stop every thread at once (their cancels run in parallel); the accounts whose
        thread did not finish within ``timeout`` (a venue that hangs) are returned."""
        for w in self.workers.values():
            w.stop(clean)
        deadline = time.monotonic() + timeout
        left = [a for a, w in self.workers.items() if not w.join(max(0.0, deadline - time.monotonic()))]
        self.workers.clear()
        return left

