"""Typed errors, sorted by the response they need.

The class alone decides what the lifecycle engine does (see ``runner.lifecycle``); nothing
downstream ever matches on message text. Venue adapters translate SDK errors into these at
their boundary, so this module has no dependencies and sits below ``venues``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    TRANSIENT = "transient"
    AMBIGUOUS = "ambiguous"
    REJECTED = "rejected"
    RISK_BLOCK = "risk_block"
    DATA_ANOMALY = "data_anomaly"
    INVARIANT = "invariant"


class RunnerError(Exception):
    """Base of every classified error; ``error_class`` drives the lifecycle."""

    error_class: ErrorClass

    def __init__(self, message: str, *, venue: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.venue = venue


class TransientError(RunnerError):
    """Network trouble, 5xx, rate limit: retry later, with ``retry_after`` if the venue said."""

    error_class = ErrorClass.TRANSIENT

    def __init__(self, message: str, *, venue: str | None = None, retry_after: float | None = None):
        super().__init__(message, venue=venue)
        self.retry_after = retry_after


class StaleDataError(TransientError):
    """No market data fresh enough to act on: the stream is down or stale and the REST
    fallback is refused (budget spent, rate limited, venue down). A skip, never an old book."""


class BudgetError(TransientError):
    """Our own request budget refused the call: the venue was not asked (nothing failed there).
    Callers that only read (audits, polls) skip quietly and come back after ``retry_after``."""


class AmbiguousError(RunnerError):
    """The request may or may not have taken effect (timeout after send): look it up first."""

    error_class = ErrorClass.AMBIGUOUS

    def __init__(self, message: str, *, venue: str | None = None, client_order_id: str | None = None):
        super().__init__(message, venue=venue)
        self.client_order_id = client_order_id


class RejectedError(RunnerError):
    """The venue refused the request; ``reason`` is the venue's own words."""

    error_class = ErrorClass.REJECTED

    def __init__(self, message: str, *, venue: str | None = None, reason: str | None = None):
        super().__init__(message, venue=venue)
        self.reason = reason or message


class PostOnlyRejected(RejectedError):
    """A post-only order refused because it would have taken liquidity: a normal maker event."""


class RiskBlockError(RunnerError):
    """Our own limit refused the order before it reached a venue; ``limit`` names which."""

    error_class = ErrorClass.RISK_BLOCK

    def __init__(self, message: str, *, venue: str | None = None, limit: str = "limit"):
        super().__init__(message, venue=venue)
        self.limit = limit


class DataAnomalyError(RunnerError):
    """Data that is off but explainable (e.g. a fill rounded by the venue)."""

    error_class = ErrorClass.DATA_ANOMALY


class InvariantError(RunnerError):
    """An audited invariant is broken: the ledger and the world disagree."""

    error_class = ErrorClass.INVARIANT


class FencedError(RunnerError):
    """This runner no longer holds the variant's lease (its fencing token is stale or its lease
    lapsed): the order was neither recorded nor sent, and the runner must stop trading it."""

    error_class = ErrorClass.INVARIANT


class PrecisionError(RejectedError):
    """Refused locally: the order cannot be expressed in the venue's precision (e.g. floors to 0)."""


# --- errors of the operator surface (not lifecycle classes) --------------------------------


@dataclass(frozen=True)
class SpecIssue:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class BadInputError(Exception):
    """Bad input from the operator (file, flag, URL): the CLI exits 2 and writes nothing."""


class SpecError(BadInputError):
    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class LedgerWriteError(Exception):
    """A batch of a backtest could not be committed: the run stops, incomplete (exit 1)."""


class RefusedError(Exception):
    """A well-formed operator action that is not allowed now (illegal transition...): exit 1."""
