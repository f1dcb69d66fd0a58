"""The exceptions ``requests`` raises for the two network faults the venue contract tells apart:
the connection dropped after the request left (ambiguous) and nothing listening (never sent).
Built exactly as requests/urllib3 build them, so the adapters classify the real thing."""

from __future__ import annotations

from http.client import RemoteDisconnected

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError


def dropped_connection() -> requests.exceptions.ConnectionError:
    """The server closed the socket after reading the request, before answering."""
    cause = RemoteDisconnected("Remote end closed connection without response")
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", cause))


def connect_refused(url: str) -> requests.exceptions.ConnectionError:
    """Nothing listens: the request never left."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, url, reason))  # type: ignore[arg-type]
