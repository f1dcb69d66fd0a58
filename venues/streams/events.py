"""What happened to a stream, as data: the freshness audit and ``runner status`` read these.

Venues never write the ledger; the adapter keeps a bounded queue of :class:`StreamEvent`
that the runtime drains (``adapter.stream_events()``) and records.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from enum import StrEnum


class StreamEventKind(StrEnum):
    CONNECTED = "connected"
    SUBSCRIBED = "subscribed"
    DISCONNECTED = "disconnected"  # the socket closed or failed; a reconnect follows
    RECONNECT = "reconnect"  # about to reconnect, after ``detail``'s backoff
    GAP = "gap"  # a sequence number was skipped: the book is not trusted until resynced
    STALE = "stale"  # nothing heard within the venue's limit: the socket is dropped
    RESYNC = "resync"  # a book was replaced from a REST snapshot
    ERROR = "error"  # the venue said something went wrong (e.g. a refused subscription)
    CLOSED = "closed"  # stopped on purpose


class StreamState(StrEnum):
    OFF = "off"  # streaming not enabled for the account
    IDLE = "idle"  # enabled; starts with the first book asked for
    CONNECTING = "connecting"
    LIVE = "live"
    DOWN = "down"  # between a failure and the next connection: REST serves
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StreamEvent:
    ts: float  # epoch seconds
    account: str
    kind: StreamEventKind
    channel: str = ""
    instrument: str = ""
    detail: str = ""


class EventLog:
    """A bounded, thread-safe queue of events (oldest dropped first) plus counters by kind
    that survive draining."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._q: deque[StreamEvent] = deque(maxlen=maxlen)
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, ev: StreamEvent) -> None:
        with self._lock:
            self._q.append(ev)
            self._counts[ev.kind.value] = self._counts.get(ev.kind.value, 0) + 1

    def drain(self) -> list[StreamEvent]:
        with self._lock:
            out = list(self._q)
            self._q.clear()
            return out

    def peek(self) -> list[StreamEvent]:
        with self._lock:
            return list(self._q)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
