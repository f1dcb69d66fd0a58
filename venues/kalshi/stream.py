"""Kalshi's WebSocket (``/trade-api/ws/v2``), signed like REST: ``GET`` + the path, at handshake.

Each market's book is its own ``orderbook_delta`` subscription (one ``sid``): an
``orderbook_snapshot`` starts it, then every ``orderbook_delta`` carries the next ``seq`` of
that sid. A skipped ``seq`` is a gap: the market's book is dropped (both sides), deltas for it
are ignored, and it is resubscribed (``unsubscribe`` its sid, ``subscribe`` again) so the
venue sends a fresh snapshot. ``fill`` messages only wake the REST fill read. Kalshi pings
every 10 s; we ping too and count pongs as life.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from venues.kalshi import markets
from venues.kalshi.signing import KalshiAuth
from venues.streams.book import LevelBook
from venues.streams.protocol import Ack, BookUpdate, FillSignal, Gap, StreamProtocol, Update, VenueError

HUNDRED = Decimal(100)


def ws_url(base_url: str) -> str:
    """``https://HOST/trade-api/v2`` -> ``wss://HOST/trade-api/ws/v2`` (http -> ws locally)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/")
    path = path[: -len("/v2")] + "/ws/v2" if path.endswith("/trade-api/v2") else path + "/ws/v2"
    return f"{scheme}://{parts.netloc}{path}"


def _ticker(instrument: str) -> str:
    """The market of a leg (``TICKER:yes`` / ``TICKER:no``) or of a bare ``TICKER``."""
    ticker, sep, side = instrument.rpartition(":")
    return ticker if sep and side in ("yes", "no") else instrument


def _levels(m: Mapping[str, Any], side: str) -> list[tuple[float, float]]:
    """Snapshot levels of one side in cents: the fixed-point dollars form first, cents last."""
    for key in (f"{side}_dollars_fp", f"{side}_dollars"):
        if m.get(key) is not None:
            return [(float(Decimal(str(p)) * HUNDRED), float(n)) for p, n in m[key]]
    return [(float(p), float(n)) for p, n in m.get(side) or []]


class KalshiStream(StreamProtocol):
    stale_after_s = 30.0  # three of Kalshi's 10 s pings
    heartbeat_s = 10.0

    def __init__(self, url: str, *, auth: KalshiAuth | None, depth: int = 100,
                 clock: Any = None) -> None:
        import time

        self.url = url
        self._auth = auth
        self._depth = depth
        self._clock = clock or time.time
        self._ids = itertools.count(1)
        self.on_connect()

    def on_connect(self) -> None:
        """Every wanted instrument is subscribed again on a new connection: forget it all."""
        self._seq: dict[int, int] = {}  # sid -> last seq applied
        self._sid_of: dict[str, int] = {}  # ticker -> sid
        self._books: dict[str, tuple[LevelBook, LevelBook]] = {}  # ticker -> (yes bids, no bids)
        self._subscribed: set[str] = set()
        self._bare: set[str] = set()  # tickers also wanted as a market book (where kinds watch one)
        self._awaiting: set[str] = set()  # tickers after a gap, until their fresh snapshot

    def headers(self) -> Mapping[str, str]:
        return self._auth.headers("GET", urlsplit(self.url).path) if self._auth else {}

    def account_subscriptions(self) -> list[dict[str, Any]]:
        if self._auth is None:
            return []
        return [{"id": next(self._ids), "cmd": "subscribe", "params": {"channels": ["fill"]}}]

    def subscribe(self, instrument: str) -> list[dict[str, Any]]:
        ticker = _ticker(instrument)
        if ticker == instrument:
            self._bare.add(ticker)
        if ticker in self._subscribed:
            return []  # the other side of a market already subscribed
        self._subscribed.add(ticker)
        return [{"id": next(self._ids), "cmd": "subscribe",
                 "params": {"channels": ["orderbook_delta"], "market_ticker": ticker}}]

    def resubscribe(self, instrument: str) -> list[dict[str, Any]]:
        ticker = _ticker(instrument)
        out: list[dict[str, Any]] = []
        sid = self._sid_of.pop(ticker, None)
        if sid is not None:
            self._seq.pop(sid, None)
            out.append({"id": next(self._ids), "cmd": "unsubscribe", "params": {"sids": [sid]}})
        self._subscribed.discard(ticker)
        return out + self.subscribe(instrument)

    def handle(self, msg: Any) -> list[Update]:
        if not isinstance(msg, dict):
            return []
        kind, body = msg.get("type"), msg.get("msg") or {}
        if kind == "orderbook_snapshot":
            return self._snapshot(int(msg["sid"]), int(msg["seq"]), body)
        if kind == "orderbook_delta":
            return self._delta(int(msg["sid"]), int(msg["seq"]), body)
        if kind == "fill":
            return [FillSignal(str(body.get("market_ticker", "")))]
        if kind == "subscribed":
            return [Ack(str(body.get("channel", "")), f"sid {body.get('sid')}")]
        if kind == "error":
            return [VenueError(f"code {body.get('code')}: {body.get('msg')}")]
        return []  # unsubscribed, ok, channels we did not ask for

    def _snapshot(self, sid: int, seq: int, m: Mapping[str, Any]) -> list[Update]:
        ticker = str(m["market_ticker"])
        self._sid_of[ticker] = sid
        self._seq[sid] = seq
        self._awaiting.discard(ticker)
        self._books[ticker] = (LevelBook(_levels(m, "yes")), LevelBook(_levels(m, "no")))
        return self._updates(ticker)

    def _delta(self, sid: int, seq: int, m: Mapping[str, Any]) -> list[Update]:
        ticker = str(m["market_ticker"])
        if ticker in self._awaiting or ticker not in self._books:
            return []
        last = self._seq.get(sid)
        if last is None or seq != last + 1:
            self._awaiting.add(ticker)
            del self._books[ticker]
            return [Gap(self._symbols(ticker), f"seq {seq} after {last} on sid {sid}")]
        self._seq[sid] = seq
        price = (float(Decimal(str(m["price_dollars"])) * HUNDRED) if m.get("price_dollars") is not None
                 else float(m["price"]))
        delta = float(m["delta_fp"]) if m.get("delta_fp") is not None else float(m["delta"])
        yes, no = self._books[ticker]
        (yes if m.get("side") == "yes" else no).apply(price, delta)
        return self._updates(ticker)

    def _symbols(self, ticker: str) -> tuple[str, ...]:
        """Both legs, and the market itself when it was asked for by its bare ticker."""
        legs = (f"{ticker}:yes", f"{ticker}:no")
        return (*legs, ticker) if ticker in self._bare else legs

    def _updates(self, ticker: str) -> list[Update]:
        yes, no = self._books[ticker]
        payload = {"orderbook": {"yes": yes.best_first(), "no": no.best_first()}}
        now = self._clock()
        return [BookUpdate(markets.book(sym, payload, self._depth, now)) for sym in self._symbols(ticker)]
