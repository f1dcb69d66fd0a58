"""Time as the runner lives it: leases and heartbeats as the ledger records them.

A fixed sleep "past the lease" or "while the owner renews", or a wall-clock deadline, holds only
on a quiet machine: under load a runner's step can take longer than the margin. These helpers
wait for the recorded fact (the lease's ``lease_until`` has passed, a runner has written N more
heartbeats) or count a deadline in the runner's heartbeats, so a slow machine only makes the
test slower, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from runner.ledger.store import Ledger
from runner.ledger.types import utcnow
from tests.kit.process import wait_for


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def lease_lapsed(ledger: Ledger, variant: str, holder: str | None = None) -> bool:
    """The variant's recorded lease has run out, nobody holds it, or (given ``holder``) it is
    no longer that runner's."""
    st = ledger.state(variant)
    if st is None or st.owner is None or st.lease_until is None:
        return True
    return (holder is not None and st.owner != holder) or _aware(st.lease_until) < utcnow()


def wait_lease_lapsed(ledger: Ledger, variant: str, holder: str | None = None, timeout: float = 60.0) -> None:
    """Until the holder's lease has run out: the holder stopped renewing (dead, frozen, stalled)."""
    wait_for(lambda: lease_lapsed(ledger, variant, holder), timeout=timeout, every=0.05)


def heartbeat_ts(ledger: Ledger, runner_id: str | None = None, pid: int | None = None) -> datetime | None:
    """The last heartbeat of the runner with ``runner_id`` (or with process ``pid``)."""
    for b in ledger.heartbeats():
        if (runner_id is not None and b.runner_id == runner_id) or (pid is not None and b.pid == pid):
            return _aware(b.ts)
    return None


def wait_heartbeats(ledger: Ledger, n: int, runner_id: str | None = None, pid: int | None = None,
                    timeout: float = 120.0) -> None:
    """Until that runner has written ``n`` more heartbeats (each one loop pass of its control
    part: leases renewed, unowned variants tried, then the heartbeat)."""
    seen = [heartbeat_ts(ledger, runner_id, pid)]

    def advanced() -> bool:
        ts = heartbeat_ts(ledger, runner_id, pid)
        if ts is not None and ts != seen[-1]:
            seen.append(ts)
        return len(seen) > n

    wait_for(advanced, timeout=timeout, every=0.05)


def within_heartbeats(ledger: Ledger, pred: Callable[[], bool], n: int, pid: int, timeout: float = 120.0) -> None:
    """Wait for ``pred()``; fail if the runner (process ``pid``) wrote ``n`` heartbeats first.

    A deadline in the runner's own time: it writes a heartbeat each second of its loop, so
    "before its second heartbeat from now" means within about a second of its own running, on
    a quiet machine as on one loaded ten times over. The heartbeat is read before ``pred``, so
    a heartbeat counted was written before ``pred`` was seen false.
    """
    last, beats = heartbeat_ts(ledger, pid=pid), 0
    t0 = time.monotonic()
    while True:
        ts = heartbeat_ts(ledger, pid=pid)
        if pred():
            return
        if ts != last:
            last, beats = ts, beats + 1
        if beats >= n:
            raise AssertionError(f"not within {n} heartbeats of the runner")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout}s (and the runner wrote no heartbeat)")
        time.sleep(0.02)
