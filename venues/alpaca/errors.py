"""alpaca-py and requests errors translated into our error classes, in one place.

Alpaca says what went wrong with the HTTP status: 429 and 5xx are transient, other 4xx
(403 insufficient buying power, 422 invalid order) are rejections carrying Alpaca's message.
A timeout, a 5xx or a dropped connection while submitting is ambiguous: the order may exist,
so it is looked up by client id (only a connection that never opened is plainly transient).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from alpaca.common.exceptions import APIError

from runner.errors import AmbiguousError, RejectedError, RunnerError, TransientError
from venues.faults import never_sent


def status_of(exc: APIError) -> int | None:
    try:
        return exc.status_code
    except Exception:  # the SDK's property can trip over a missing response
        return None


def message_of(exc: APIError) -> str:
    """Alpaca's own words: the ``message`` of its JSON error body, else the raw text."""
    try:
        return str(json.loads(str(exc))["message"])
    except (ValueError, KeyError, TypeError):
        return str(exc) or "unknown error"


def retry_after(exc: APIError, default: float) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default


def translate(exc: Exception, *, venue: str, submitting: bool = False, client_order_id: str | None = None,
              rate_limit_retry_s: float = 1.0) -> RunnerError:
    if isinstance(exc, APIError):
        status = status_of(exc)
        msg = message_of(exc)
        if status == 429:
            return TransientError(f"{venue}: rate limited: {msg}", venue=venue,
                                  retry_after=retry_after(exc, rate_limit_retry_s))
        if status is None or status >= 500:
            if submitting:
                return AmbiguousError(f"{venue}: HTTP {status} after send: {msg}", venue=venue,
                                      client_order_id=client_order_id)
            return TransientError(f"{venue}: HTTP {status}: {msg}", venue=venue)
        return RejectedError(f"{venue}: HTTP {status}: {msg}", venue=venue, reason=msg)
    if isinstance(exc, requests.Timeout):
        if submitting:
            return AmbiguousError(f"{venue}: timed out after send: {exc}", venue=venue,
                                  client_order_id=client_order_id)
        return TransientError(f"{venue}: timeout: {exc}", venue=venue)
    if isinstance(exc, requests.RequestException):  # connection refused, reset, bad response
        if submitting and not never_sent(exc):
            return AmbiguousError(f"{venue}: {type(exc).__name__} after send: {exc}", venue=venue,
                                  client_order_id=client_order_id)
        return TransientError(f"{venue}: {type(exc).__name__}: {exc}", venue=venue)
    raise exc


@contextmanager
def translated(venue: str, *, submitting: bool = False, client_order_id: str | None = None,
               rate_limit_retry_s: float = 1.0) -> Iterator[None]:
    """Run SDK calls; re-raise their errors as ours (the SDK error stays as ``__cause__``)."""
    try:
        yield
    except (APIError, requests.RequestException) as exc:
        raise translate(exc, venue=venue, submitting=submitting, client_order_id=client_order_id,
                        rate_limit_retry_s=rate_limit_retry_s) from exc


def http_status(exc: RunnerError) -> int | None:
    """The HTTP status behind one of our errors, when Alpaca answered with one."""
    return status_of(exc.__cause__) if isinstance(exc.__cause__, APIError) else None


def is_not_found(exc: RunnerError) -> bool:
    return http_status(exc) == 404
