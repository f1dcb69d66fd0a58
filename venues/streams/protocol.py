"""What a venue's wire protocol must say, and what it reports back, as plain values.

A protocol (``venues/<name>/stream.py``) turns instruments into subscription messages and a
venue message into updates; it holds the per-connection state the venue's format needs
(Kalshi's sequence numbers per subscription, an incremental book). It does no I/O: the
connection sends, receives and decides what a gap or silence means.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from venues.base import BookSnapshot, Candle


@dataclass(frozen=True, slots=True)
class BookUpdate:
    book: BookSnapshot


@dataclass(frozen=True, slots=True)
class CandleUpdate:
    """A candle of the venue's candle channel: in progress, or ``final`` when the venue says it closed."""

    instrument: str
    timeframe_s: int
    candle: Candle
    final: bool = False


@dataclass(frozen=True, slots=True)
class Gap:
    """A sequence number was skipped (or the venue said the book is invalid). ``instruments``
    are the symbols whose books it breaks (both sides of a binary market)."""

    instruments: tuple[str, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class FillSignal:
    """An own fill or order change happened: read the REST fill cursor now."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ack:
    channel: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class VenueError:
    detail: str


Update = BookUpdate | CandleUpdate | Gap | FillSignal | Ack | VenueError


class StreamProtocol(abc.ABC):
    """One venue's messages. ``url`` is the WebSocket endpoint; ``stale_after_s`` is how long
    silence may last (heartbeats included) before the connection is declared stale."""

    url: str
    stale_after_s: float = 30.0
    heartbeat_s: float = 10.0

    def headers(self) -> Mapping[str, str]:
        """Handshake headers, built for every (re)connection (signatures carry a timestamp)."""
        return {}

    def on_connect(self) -> None:  # noqa: B027 - optional hook
        """Forget per-connection state (sequence numbers, partial books)."""

    def account_subscriptions(self) -> list[dict[str, Any]]:
        """Messages subscribing the account's own channels (fills, orders), once per connection."""
        return []

    @abc.abstractmethod
    def subscribe(self, instrument: str) -> list[dict[str, Any]]:
        """Messages subscribing ``instrument``'s book."""

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> list[dict[str, Any]]:
        """Messages subscribing ``instrument``'s candles of ``timeframe_s`` (none: the venue has none)."""
        return []

    def resubscribe(self, instrument: str) -> list[dict[str, Any]]:
        """Messages that make the venue send ``instrument``'s book afresh after a gap."""
        return self.subscribe(instrument)

    def ping(self) -> dict[str, Any] | None:
        """An application-level ping, or None to use WebSocket ping frames."""
        return None

    @abc.abstractmethod
    def handle(self, msg: Any) -> list[Update]:
        """Updates carried by one decoded message (an empty list for pongs and the like)."""
