"""Settings of a ``ccxt`` account in venues.yaml, checked strictly so a typo fails at load."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CcxtConfig(BaseModel):
    """Everything but ``adapter``, ``live``, ``url`` and ``credentials`` of one account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str = Field("okx", description="ccxt exchange id (okx, binance, bybit, ...)")
    sandbox: bool = Field(True, description="use the exchange's testnet / demo trading")
    url: str | None = Field(None, description="base URL override (also settable as the account's url:)")
    options: dict[str, Any] = Field(default_factory=dict, description="passed to ccxt as `options`")
    market_types: list[str] | None = Field(
        None, description="market types to load (spot, swap, future, option); None = the exchange default"
    )
    symbols: list[str] | None = Field(None, description="only these unified symbols become instruments")
    fill_types: list[str] | None = Field(
        None, description="market types scanned by fills() (okx needs instType); None = every type loaded"
    )
    spot_quote: str = Field("USDT", description="spot balances are reported as positions against this quote")
    lookup_by_client_id: bool | None = Field(
        None, description="fetch/cancel by client id natively; None = known per exchange, else scan orders"
    )
    enable_rate_limit: bool = Field(True, description="ccxt's client-side throttle")
    timeout_ms: int = Field(10_000, gt=0)
    rate_limit_retry_s: float = Field(1.0, gt=0, description="retry hint when a 429 carries no Retry-After")
    cancel_attempts: int = Field(5, ge=1, description="cancel tries while the venue answers transiently")
    cancel_backoff_s: float = Field(0.5, gt=0, description="first wait between cancel tries; doubles")
    cancel_backoff_cap_s: float = Field(8.0, gt=0)
    fills_page_limit: int = Field(100, ge=1, description="page size of the venue's fills endpoint")
    stream: bool = Field(True, description="books and fill signals by ccxt.pro WebSocket; REST is the fallback")
    ws_url: str | None = Field(None, description="WebSocket endpoint override (the exchange's urls.api.ws)")
    stream_stale_s: float | None = Field(None, gt=0, description="silence that makes the stream stale (30 s)")
    fill_poll_s: float = Field(5.0, gt=0, description="with a live stream, read REST fills at least this often")
    budget_scale: float = Field(1.0, gt=0, le=1, description="share of the exchange's rate limit to use")
