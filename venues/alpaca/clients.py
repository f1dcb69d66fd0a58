"""Build alpaca-py's clients for one account: trading, stock data, crypto data.

Two SDK defaults are overridden on purpose. alpaca-py sends requests without a timeout,
so a hung connection would block the engine: its session gets one. And it retries 429
and 504 itself with a blocking sleep; we switch that off so retry decisions are made by
error class in one place (the engine, or the cancel backoff).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from venues.alpaca.config import AlpacaConfig


class TimeoutSession(requests.Session):
    """A requests session that applies a default timeout to every request."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class Clients:
    trading: TradingClient
    stocks: StockHistoricalDataClient
    crypto: CryptoHistoricalDataClient


def _tame(client: Any, timeout: float) -> Any:
    client._session = TimeoutSession(timeout)  # private in alpaca-py: no public hook for either
    client._retry = 0
    return client


def build_clients(config: AlpacaConfig, api_key: str, secret_key: str, url: str | None) -> Clients:
    trading_url = (url or config.url or "").rstrip("/") or None
    data_url = (config.data_url or trading_url or "").rstrip("/") or None
    return Clients(
        trading=_tame(TradingClient(api_key, secret_key, paper=config.paper, url_override=trading_url),
                      config.timeout_s),
        stocks=_tame(StockHistoricalDataClient(api_key, secret_key, url_override=data_url), config.timeout_s),
        crypto=_tame(CryptoHistoricalDataClient(api_key, secret_key, url_override=data_url), config.timeout_s),
    )
