"""Settings of an ``alpaca`` account in venues.yaml, checked strictly so a typo fails at load."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AlpacaConfig(BaseModel):
    """Everything but ``adapter``, ``live``, ``url`` and ``credentials`` of one account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paper: bool = Field(True, description="paper-api.alpaca.markets; false means real money (needs live: true)")
    url: str | None = Field(None, description="trading API base URL override (also the account's url:)")
    data_url: str | None = Field(None, description="market data base URL; defaults to url when url is set")
    crypto: bool = Field(True, description="load every active crypto pair at connect")
    symbols: list[str] = Field(default_factory=list, description="equities (or pairs) to load, e.g. [AAPL, SPY]")
    fractional: bool = Field(False, description="equity lot of 1e-9 for fractionable assets (DAY orders only)")
    stock_feed: Literal["iex", "sip"] = "iex"
    crypto_maker_fee: Decimal = Decimal("0.0015")  # Alpaca crypto tier 1
    crypto_taker_fee: Decimal = Decimal("0.0025")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout; alpaca-py sets none of its own")
    rate_limit_retry_s: float = Field(1.0, gt=0, description="retry hint when a 429 carries no Retry-After")
    cancel_attempts: int = Field(5, ge=1)
    cancel_backoff_s: float = Field(0.5, gt=0)
    cancel_backoff_cap_s: float = Field(8.0, gt=0)
    fills_page_size: int = Field(100, ge=1, le=100)
    stream: bool = Field(True, description="books (crypto) and quotes (equities) by alpaca-py's data streams")
    ws_url: str | None = Field(None, description="data stream base override (.../v1beta3/crypto/us, .../v2/FEED)")
    trading_ws_url: str | None = Field(None, description="trading stream (trade_updates) URL override")
    stream_stale_s: float | None = Field(None, gt=0, description="silence that makes the stream stale (30 s)")
    fill_poll_s: float = Field(5.0, gt=0, description="with a live stream, read REST fills at least this often")
    budget_scale: float = Field(1.0, gt=0, le=1, description="share of Alpaca's 200 calls a minute to use")
