"""A clean stop's venue work: every account at once, each within a bound.

A clean stop (Ctrl-C, SIGTERM, ``--duration``) cancels each account's resting orders (unless the
account says ``on_stop: leave``: resting orders must not fill while nobody manages them) and
then books the fills up to the stop (an IOC sent in the last step), so the ledger ends equal to
the venue. Done one account after another on the main thread, one hung venue delayed the stop
by its HTTP timeout, and the other accounts' last reads with it. So each account does its part
on a thread of its own, all at once, and the stop waits for them together for at most
``stop_timeout_s`` (runner.yaml), then names the accounts that did not answer and goes on.

Nothing is lost by leaving: an order left resting is looked up by client id at the next start,
and a fill not read now is read then through its variant's REST fill cursor, which has not
moved past it (the fill key books it once, whoever reads it). A thread left behind ends with
its venue call; it is a daemon, so it does not keep the process alive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from runner.engine.containment import LEDGER_ERRORS
from runner.errors import RunnerError
from runner.ledger.store import is_in_memory
from runner.privacy import mask_text
from venues.streams.feed import every_fill_read

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime


def stop_accounts(rt: Runtime, bound_s: float) -> list[str]:
    """Each account's last cancels and fill reads on its own thread, all at once; returns the
    accounts still at it after ``bound_s`` (reported: the next start finishes their work)."""
    accounts = sorted(set(rt.accounts()) | set(rt.adapters))
    if is_in_memory(rt.ledger.url):  # its connection is per thread: another thread sees another database
        for account in accounts:
            _last_work(rt, account)
        return []
    left = at_once(accounts, lambda a: _last_work(rt, a), bound_s)
    for account in left:
        rt.reporter.error(f"{account}: the venue did not answer within {bound_s:g}s of the stop; the next "
                          "start looks up its resting orders by client id and reads its fills from the cursor")
    return left


def close_adapters(rt: Runtime, bound_s: float) -> None:
    """Close every account's adapter (its streams, its sessions) at once, within ``bound_s``."""
    def close(account: str) -> None:
        try:
            rt.adapters[account].close()
        except Exception as exc:  # noqa: BLE001 - the stop goes on
            rt.reporter.error(f"{account}: closing its connections: {_text(exc)}")

    for account in at_once(sorted(rt.adapters), close, bound_s, "close"):
        rt.reporter.error(f"{account}: its connections did not close within {bound_s:g}s; left to the exit")


def at_once(accounts: list[str], fn: Callable[[str], None], bound_s: float, name: str = "stop") -> list[str]:
    """``fn(account)`` for every account on a daemon thread of its own, all started together;
    waits for them together for at most ``bound_s``; returns the accounts still running."""
    threads = [threading.Thread(target=fn, args=(a,), name=f"{name}-{a}", daemon=True) for a in accounts]
    for t in threads:
        t.start()
    deadline = time.monotonic() + bound_s
    left = []
    for account, t in zip(accounts, threads, strict=True):
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            left.append(account)
    return left


def _last_work(rt: Runtime, account: str) -> None:
    """Cancel the account's resting orders, then read its fills; a failure of one is reported
    and the other still runs (a venue refusing cancels may still report fills)."""
    try:
        rt.chores.cancel_on_stop(account)
    except Exception as exc:  # noqa: BLE001 - on a thread of its own: reported, never lost
        rt.reporter.error(f"{account}: cancelling resting orders on stop: {_text(exc)}")
    try:  # book what filled up to the stop: the ledger ends equal to the venue, not one restart behind
        with every_fill_read():  # the last read is due whatever the pace (it still spends the budget)
            rt.trading.fills(account)
    except Exception as exc:  # noqa: BLE001 - as above
        rt.reporter.error(f"{account}: reading fills on stop: {_text(exc)}")


def _text(exc: BaseException) -> str:
    if isinstance(exc, (RunnerError, *LEDGER_ERRORS)):
        return mask_text(str(exc))
    return f"{type(exc).__name__}: {mask_text(str(exc))}"
