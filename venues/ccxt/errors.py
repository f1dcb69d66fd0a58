"""ccxt exceptions translated into our error classes, in one place.

The class decides: network trouble and rate limits are transient (retry later); a timeout, a
5xx or a dropped connection while submitting is ambiguous (the order may exist: look it up by
client id) unless the request provably never left; a post-only order that would take
(``OrderImmediatelyFillable``) is the benign refusal; anything else the exchange answered with
an error code is a rejection carrying the exchange's words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import ccxt

from runner.errors import AmbiguousError, PostOnlyRejected, RejectedError, RunnerError, TransientError
from venues.faults import never_sent

#: Exchange error codes ccxt maps to a broader class than we need; added to its own table so the
#: SDK raises the precise class (never matched on message text here).
EXACT_CODE_OVERRIDES: Mapping[str, Mapping[str, type[Exception]]] = {
    # OKX 51016 "Duplicated clOrdId": ccxt says InvalidOrder, it means "you already sent this".
    "okx": {"51016": ccxt.DuplicateOrderId},
}


def install_code_overrides(exchange: Any) -> None:
    exact = exchange.exceptions.setdefault("exact", {})
    exact.update(EXACT_CODE_OVERRIDES.get(exchange.id, {}))


def translate(
    exc: Exception,
    *,
    venue: str,
    submitting: bool = False,
    client_order_id: str | None = None,
    retry_after: Callable[[], float | None] = lambda: None,
) -> RunnerError:
    """Map one ccxt exception to the error class that says what to do next."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ccxt.RequestTimeout):
        if submitting:
            return AmbiguousError(f"{venue}: timed out after send: {text}", venue=venue,
                                  client_order_id=client_order_id)
        return TransientError(f"{venue}: timeout: {text}", venue=venue)
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return TransientError(f"{venue}: rate limited: {text}", venue=venue, retry_after=retry_after())
    if submitting and isinstance(exc, ccxt.NetworkError) and not never_sent(exc):
        return AmbiguousError(f"{venue}: {type(exc).__name__} after send: {text}", venue=venue,
                              client_order_id=client_order_id)
    if isinstance(exc, ccxt.OrderImmediatelyFillable):
        return PostOnlyRejected(f"{venue}: post-only order would take: {text}", venue=venue, reason=text)
    if isinstance(exc, ccxt.OperationFailed):  # NetworkError, ExchangeNotAvailable, BadResponse...
        return TransientError(f"{venue}: {type(exc).__name__}: {text}", venue=venue)
    if isinstance(exc, ccxt.BaseError):  # ExchangeError and below: the exchange said no
        return RejectedError(f"{venue}: {type(exc).__name__}: {text}", venue=venue, reason=text)
    raise exc  # not an SDK error: a bug of ours, let it surface


@contextmanager
def translated(venue: str, *, submitting: bool = False, client_order_id: str | None = None,
               retry_after: Callable[[], float | None] = lambda: None) -> Iterator[None]:
    """Run SDK calls; re-raise their errors as ours (the SDK error stays as ``__cause__``)."""
    try:
        yield
    except ccxt.BaseError as exc:
        raise translate(exc, venue=venue, submitting=submitting, client_order_id=client_order_id,
                        retry_after=retry_after) from exc


def retry_after_header(exchange: Any, default: float) -> float:
    """Seconds the exchange asked us to wait (Retry-After), else our configured default."""
    headers = getattr(exchange, "last_response_headers", None) or {}
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                break
    return default
