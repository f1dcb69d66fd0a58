"""Faults stay where they happen: one variant's failure is that variant's, a ledger outage pauses
trading for everyone until the ledger answers again, and nothing else stops the runner.

- A variant whose strategy or order path raises something unexpected gets an ``invariant``
  trouble (the lifecycle quarantines it, positions still managed); the other variants trade on.
- A classified venue error that escaped the engine becomes a trouble of its own class.
- A fenced order (this runner's lease token is stale) marks the engine ``fenced``: the runtime
  stops trading that variant, as when a lease renewal finds it lost.
- A ledger error (connection lost, database restarted, disk full) is not the variant's fault:
  it propagates to the loop, which backs off. No order is sent meanwhile, because every order's
  row is written before its send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from runner.errors import FencedError, InvariantError, RunnerError
from runner.ledger.pg_session import ended_idle_transaction
from runner.lifecycle import backoff_delay
from runner.privacy import mask_text

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine

LEDGER_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError,)


def contained(eng: VariantEngine, what: str, fn: Callable[..., Any], *args: Any) -> bool:
    """Run ``fn(*args)`` for ``eng``; a fault becomes the variant's trouble. False if it failed."""
    from runner.engine.variant import Trouble

    try:
        fn(*args)
        return True
    except LEDGER_ERRORS:
        raise
    except FencedError as exc:  # another runner owns it now: the runtime lets go of it
        eng.fenced = str(exc)
    except RunnerError as exc:
        eng.troubles.append(Trouble(exc, f"{what}: {exc}"))
    except Exception as exc:  # noqa: BLE001 - a bug or bad data in one variant must not stop the others
        err = InvariantError(f"{what} failed: {type(exc).__name__}: {exc}")
        eng.troubles.append(Trouble(err, str(err)))
    return False


def outage_text(exc: BaseException, attempts: int, delay: float, idle_s: float | None = None) -> str:
    """The console line of a ledger error the loop backs off from, naming its cause when known:
    the server ending a frozen runner's idle transaction is not the ledger being down."""
    if ended_idle_transaction(exc):
        idle = f" after {idle_s:g} s" if idle_s is not None else ""  # the cause first: the console cuts at 80
        return (f"ledger server ended this runner's idle transaction{idle} (frozen or paused?); "
                f"rolled back, nothing of it recorded; reconnecting in {delay:.1f}s")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"ledger unavailable (attempt {attempts}): {mask_text(first)}; no orders until it answers; "
            f"retrying in {delay:.1f}s")


class LedgerOutage:
    """Backoff while the ledger cannot be reached (a PostgreSQL restart, a full disk)."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self.attempts = 0

    @property
    def active(self) -> bool:
        return self.attempts > 0

    def failed(self) -> float:
        self.attempts += 1
        return backoff_delay(self.attempts, self.base_s, self.cap_s)

    def recovered(self) -> bool:
        """True once, when the ledger answers again after an outage."""
        was, self.attempts = self.attempts, 0
        return was > 0
