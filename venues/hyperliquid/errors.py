"""Translation of SDK / ``requests`` errors and of Hyperliquid's answers into runner errors.

Everything the SDK can raise is mapped here, in one place, by class and HTTP status; the
adapter never inspects message text to decide a retry. Also the one retry loop (with
exponential backoff) the adapter uses for cancels, whose repetition is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import requests

from runner.errors import AmbiguousError, PostOnlyRejected, RejectedError, RunnerError, TransientError
from venues.faults import never_sent

T = TypeVar("T")

#: The venue's words for an Alo order that would have taken ("BadAloPx" in its error list):
#: a normal maker event, so it is classified here, once, at the boundary.
POST_ONLY_CROSS = "Post only order would have immediately matched"


def raise_for_status(response: requests.Response) -> None:
    """Replacement for the SDK's ``API._handle_exception``: that one assumes every 4xx body is
    a JSON object with ``code`` and ``msg`` and raises KeyError otherwise (429s are not)."""
    from hyperliquid.utils.error import ClientError, ServerError

    status = response.status_code
    if status < 400:
        return
    if status >= 500:
        raise ServerError(status, response.text)
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    msg = body.get("msg") if isinstance(body, dict) and "msg" in body else response.text
    data = body.get("data") if isinstance(body, dict) else None
    raise ClientError(status, code, msg, response.headers, data)


def _retry_after(headers: Mapping[str, str] | None, default: float) -> float:
    try:
        return float((headers or {}).get("Retry-After", default))
    except (TypeError, ValueError):
        return default


def retry_after_of(exc: BaseException, default: float) -> float | None:
    """The wait a 429 asks for (its Retry-After, else ``default``); None for any other error."""
    from hyperliquid.utils.error import ClientError

    if isinstance(exc, ClientError) and exc.status_code == 429:
        return _retry_after(exc.header, default)
    return None


def translate(exc: BaseException, *, venue: str, mutating: bool, client_order_id: str | None = None,
              rate_limit_retry_s: float = 1.0, placing: bool = False) -> RunnerError | None:
    """The runner error for ``exc``, or None when it is not an I/O error (a bug: re-raise).

    ``placing``: an order was sent, so a 5xx or a connection dropped after sending leaves an
    order that may stand (ambiguous). A cancel keeps them transient: it is retried anyway."""
    from hyperliquid.utils.error import ClientError, ServerError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransientError(f"{venue}: connect timeout (nothing sent)", venue=venue)
    if isinstance(exc, requests.exceptions.Timeout):
        if mutating:
            return AmbiguousError(f"{venue}: timed out after sending; look the order up",
                                  venue=venue, client_order_id=client_order_id)
        return TransientError(f"{venue}: read timeout", venue=venue)
    if isinstance(exc, requests.exceptions.RequestException):
        if placing and not never_sent(exc):  # dropped after the request left: it may stand
            return AmbiguousError(f"{venue}: {type(exc).__name__} after sending; look the order up",
                                  venue=venue, client_order_id=client_order_id)
        return TransientError(f"{venue}: HTTP error: {type(exc).__name__}", venue=venue)
    if isinstance(exc, ServerError):
        if placing:  # a gateway's 5xx may come after the node took the order
            return AmbiguousError(f"{venue}: server error {exc.status_code} after sending; look the order up",
                                  venue=venue, client_order_id=client_order_id)
        return TransientError(f"{venue}: server error {exc.status_code}", venue=venue)
    if isinstance(exc, ClientError):
        if exc.status_code == 429:
            return TransientError(f"{venue}: rate limited (429)", venue=venue,
                                  retry_after=_retry_after(exc.header, rate_limit_retry_s))
        reason = str(exc.error_message or exc.error_code or exc.status_code)
        return RejectedError(f"{venue}: HTTP {exc.status_code}: {reason}", venue=venue, reason=reason)
    return None


def action_error(resp: Any, *, venue: str, what: str, mutating: bool,
                 client_order_id: str | None = None) -> RunnerError | None:
    """The error an ``/exchange`` answer carries, if any.

    ``{"status": "err", "response": TEXT}`` refuses the whole action; ``{"status": "ok"}`` can
    still refuse each order: ``response.data.statuses[i] == {"error": TEXT}``. Both are
    rejections with the venue's text as reason. A body that is not JSON (the SDK returns
    ``{"error": "Could not parse JSON..."}``) tells nothing: ambiguous when it was an order.
    """
    if not isinstance(resp, dict) or "status" not in resp:
        if mutating:
            return AmbiguousError(f"{venue}: unreadable answer to {what}", venue=venue,
                                  client_order_id=client_order_id)
        return TransientError(f"{venue}: unreadable answer to {what}", venue=venue)
    if resp["status"] != "ok":
        reason = str(resp.get("response"))
        return RejectedError(f"{venue} refused {what}: {reason}", venue=venue, reason=reason)
    for status in statuses(resp):
        if isinstance(status, dict) and "error" in status:
            reason = str(status["error"])
            if reason.startswith(POST_ONLY_CROSS):
                return PostOnlyRejected(f"{venue} refused {what}: {reason}", venue=venue, reason=reason)
            return RejectedError(f"{venue} refused {what}: {reason}", venue=venue, reason=reason)
    return None


def statuses(resp: Mapping[str, Any]) -> list[Any]:
    response = resp.get("response")
    if not isinstance(response, dict):
        return []
    data = response.get("data") or {}
    return list(data.get("statuses") or [])
