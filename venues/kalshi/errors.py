"""Translation of ``httpx`` errors and Kalshi's HTTP answers into runner errors, in one place.

Classes, status codes and Kalshi's documented ``code``/``details`` decide: connect failures and
429 are transient (429 with the venue's Retry-After), as is a 5xx to a read or a cancel; a
timeout or broken connection after an order or cancel was sent, or a 5xx to an order, is ambiguous; ``invalid_order`` with the
details ``post only cross`` is the benign post-only refusal; other 4xx are rejections carrying
Kalshi's code, message and details.
Also the backoff loop used for cancels, whose repetition is harmless.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from runner.errors import AmbiguousError, PostOnlyRejected, RejectedError, RunnerError, TransientError

T = TypeVar("T")

#: the documented ``details`` of a post-only order that would have crossed (docs: Order Errors)
POST_ONLY_CROSS = "post only cross"


def _body(response: httpx.Response) -> dict[str, Any] | None:
    """Kalshi's ``ErrorResponse`` fields, under ``error`` or (unparseable requests) at the top."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return body if isinstance(body, dict) else None


def reason(response: httpx.Response) -> str:
    """``code: message (details)``: the details are what tells "invalid order" cases apart."""
    body = _body(response)
    if body is None:
        return response.text[:200] or f"HTTP {response.status_code}"
    code, message, details = body.get("code"), body.get("message"), body.get("details")
    text = ": ".join(str(x) for x in (code, message) if x) or f"HTTP {response.status_code}"
    return f"{text} ({details})" if details else text


def from_transport(exc: httpx.HTTPError, *, venue: str, mutating: bool,
                   client_order_id: str | None = None) -> RunnerError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return TransientError(f"{venue}: cannot connect ({type(exc).__name__}); nothing sent", venue=venue)
    if mutating:
        return AmbiguousError(f"{venue}: {type(exc).__name__} after sending; look the order up",
                              venue=venue, client_order_id=client_order_id)
    return TransientError(f"{venue}: {type(exc).__name__}", venue=venue)


def from_status(response: httpx.Response, *, venue: str, rate_limit_retry_s: float, placing: bool = False,
                client_order_id: str | None = None) -> RunnerError:
    status = response.status_code
    if status == 429:
        try:
            hint = float(response.headers.get("Retry-After", rate_limit_retry_s))
        except ValueError:
            hint = rate_limit_retry_s
        return TransientError(f"{venue}: rate limited (429)", venue=venue, retry_after=hint)
    why = reason(response)
    if status >= 500:
        if placing:  # a gateway's 5xx may come after the exchange took the order (a cancel is retried)
            return AmbiguousError(f"{venue}: server error {status} after sending ({why}); look the order up",
                                  venue=venue, client_order_id=client_order_id)
        return TransientError(f"{venue}: server error {status}: {why}", venue=venue)
    body = _body(response) or {}
    if body.get("details") == POST_ONLY_CROSS:
        return PostOnlyRejected(f"{venue}: HTTP {status}: {why}", venue=venue, reason=why)
    return RejectedError(f"{venue}: HTTP {status}: {why}", venue=venue, reason=why)
