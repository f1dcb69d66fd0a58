"""Translation of ``httpx`` errors and Kalshi's HTTP answers into runner errors, in one place.

Classes and status codes decide, never message text: connect failures, 5xx and 429 are
transient (429 with the venue's Retry-After); a timeout or broken connection after an order
or cancel was sent is ambiguous; other 4xx are rejections carrying Kalshi's code and message.
Also the backoff loop used for cancels, whose repetition is harmless.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from runner.errors import AmbiguousError, RejectedError, RunnerError, TransientError

T = TypeVar("T")


def reason(response: httpx.Response) -> str:
    """Kalshi's ``ErrorResponse`` ``{code, message, details}``, also when nested in ``error``."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    code, message = body.get("code"), body.get("message")
    return ": ".join(str(x) for x in (code, message) if x) or f"HTTP {response.status_code}"


def from_transport(exc: httpx.HTTPError, *, venue: str, mutating: bool,
                   client_order_id: str | None = None) -> RunnerError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return TransientError(f"{venue}: cannot connect ({type(exc).__name__}); nothing sent", venue=venue)
    if mutating:
        return AmbiguousError(f"{venue}: {type(exc).__name__} after sending; look the order up",
                              venue=venue, client_order_id=client_order_id)
    return TransientError(f"{venue}: {type(exc).__name__}", venue=venue)


def from_status(response: httpx.Response, *, venue: str, rate_limit_retry_s: float) -> RunnerError:
    status = response.status_code
    if status == 429:
        try:
            hint = float(response.headers.get("Retry-After", rate_limit_retry_s))
        except ValueError:
            hint = rate_limit_retry_s
        return TransientError(f"{venue}: rate limited (429)", venue=venue, retry_after=hint)
    if status >= 500:
        return TransientError(f"{venue}: server error {status}", venue=venue)
    why = reason(response)
    return RejectedError(f"{venue}: HTTP {status}: {why}", venue=venue, reason=why)
