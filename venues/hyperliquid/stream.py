"""Hyperliquid's WebSocket (``/ws``): ``l2Book`` for books, ``userFills`` and ``orderUpdates``
for the account, ``{"method": "ping"}`` answered by ``{"channel": "pong"}``.

``candle`` (one per coin and interval) carries the candle in progress, updated in place on
every trade, ``t`` its open and ``T`` its close in ms; the candle closer (``streams.candles``)
decides when one is over.

Every ``l2Book`` message is the whole book (20 levels a side) stamped with the block time,
so there is no sequence to lose: a message older than the last one of its coin is dropped.
``userFills`` starts with ``isSnapshot: true`` after every subscription; it and any later
fill only wake the REST fill read (``userFillsByTime`` stays the truth). We speak the
documented protocol ourselves rather than through the SDK's ``WebsocketManager``, which has
no reconnect, no staleness limit and no way to report a drop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from venues.base import BookSnapshot, Candle
from venues.candles import timeframe_label
from venues.streams.protocol import Ack, BookUpdate, CandleUpdate, FillSignal, StreamProtocol, Update, VenueError

_UNITS = {"m": 60, "h": 3600, "d": 86400}


def ws_url(base_url: str) -> str:
    """``https://api.hyperliquid.xyz`` -> ``wss://api.hyperliquid.xyz/ws`` (http -> ws locally)."""
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://"):].rstrip("/") + "/ws"
    if base_url.startswith("http://"):
        return "ws://" + base_url[len("http://"):].rstrip("/") + "/ws"
    return base_url


class HyperliquidStream(StreamProtocol):
    stale_after_s = 15.0  # blocks are sub-second; a pong every 5 s keeps a quiet book live
    heartbeat_s = 5.0  # the venue drops a connection it has not heard from in 60 s

    def __init__(self, url: str, *, coin: Callable[[str], str], symbol: Callable[[str], str],
                 user: str | None = None) -> None:
        self.url = url
        self._coin = coin  # our symbol -> venue coin
        self._symbol = symbol  # venue coin -> our symbol
        self._user = user
        self._last_time: dict[str, int] = {}

    def on_connect(self) -> None:
        self._last_time.clear()

    def account_subscriptions(self) -> list[dict[str, Any]]:
        if not self._user:
            return []
        return [{"method": "subscribe", "subscription": {"type": t, "user": self._user}}
                for t in ("userFills", "orderUpdates")]

    def subscribe(self, instrument: str) -> list[dict[str, Any]]:
        return [{"method": "subscribe", "subscription": {"type": "l2Book", "coin": self._coin(instrument)}}]

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> list[dict[str, Any]]:
        return [{"method": "subscribe", "subscription": {"type": "candle", "coin": self._coin(instrument),
                                                         "interval": timeframe_label(timeframe_s)}}]

    def ping(self) -> dict[str, Any]:
        return {"method": "ping"}

    def handle(self, msg: Any) -> list[Update]:
        if not isinstance(msg, dict):
            return []
        channel, data = msg.get("channel"), msg.get("data")
        if channel == "l2Book" and isinstance(data, dict):
            return self._book(data)
        if channel == "candle" and isinstance(data, dict | list):
            return [up for c in (data if isinstance(data, list) else [data]) if (up := self._candle(c))]
        if channel == "userFills" and isinstance(data, dict):
            n = len(data.get("fills") or [])
            return [FillSignal("snapshot" if data.get("isSnapshot") else f"{n} fills")]
        if channel == "orderUpdates" and isinstance(data, list):
            return [FillSignal("order filled")] if any(u.get("status") == "filled" for u in data) else []
        if channel == "subscriptionResponse" and isinstance(data, dict):
            sub = data.get("subscription") or {}
            return [Ack(str(sub.get("type", "")), str(sub.get("coin") or sub.get("user") or ""))]
        if channel == "error":
            return [VenueError(str(data))]
        return []  # pong, post responses, channels we did not ask for

    def _candle(self, c: Any) -> CandleUpdate | None:
        """``{"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"}``; None for an interval we cannot read."""
        if not isinstance(c, dict):
            return None
        label = str(c.get("i", ""))
        unit = _UNITS.get(label[-1:]) if label[:-1].isdigit() else None
        if unit is None:
            return None  # 1w, 1M: no timeframe of ours
        return CandleUpdate(self._symbol(str(c["s"])), int(label[:-1]) * unit, Candle(
            int(c["t"]) / 1000.0, float(c["o"]), float(c["h"]), float(c["l"]), float(c["c"]), float(c.get("v") or 0.0)))

    def _book(self, data: dict[str, Any]) -> list[Update]:
        coin, ms = str(data["coin"]), int(data.get("time") or 0)
        if ms < self._last_time.get(coin, 0):
            return []  # an older block than the one we hold
        self._last_time[coin] = ms
        bids, asks = data["levels"]
        return [BookUpdate(BookSnapshot(
            self._symbol(coin), ms / 1000.0,
            [(float(lv["px"]), float(lv["sz"])) for lv in bids],
            [(float(lv["px"]), float(lv["sz"])) for lv in asks],
        ))]
