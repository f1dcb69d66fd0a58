"""Did a failed request reach the venue? One answer for every adapter that speaks ``requests``.

A failure before any byte left (connection refused, DNS, connect timeout) is transient: the
order does not exist. Anything later (a dropped connection, a read timeout, a 5xx from a
gateway that may have forwarded it) leaves an order that may exist: ambiguous, looked up by
client id, never counted as ``send_failed``. Kept below the adapters so none imports another.
"""

from __future__ import annotations

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

_NOT_SENT = (requests.exceptions.ConnectTimeout, NewConnectionError, ConnectTimeoutError)


def never_sent(exc: BaseException) -> bool:
    """True only when the failure is known to have happened before the request left."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _NOT_SENT):
            return True
        if isinstance(e, MaxRetryError) and isinstance(e.reason, _NOT_SENT):
            return True
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return False

