"""Settings of a ``kalshi`` account in venues.yaml (all optional; demo unless told)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEMO_URL = "https://demo-api.kalshi.co/trade-api/v2"
PROD_URL = "https://api.elections.kalshi.com/trade-api/v2"


class KalshiConfig(BaseModel):
    """Validated once at ``create()``; never a dict afterwards."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    demo: bool = Field(True, description="demo environment unless false (then production)")
    tickers: tuple[str, ...] = Field((), description="market tickers to load at connect()")
    series: tuple[str, ...] = Field((), description="series whose open markets load at connect()")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout; a timeout after an order is ambiguous")
    cancel_retries: int = Field(4, ge=1, le=10, description="attempts of a cancel on transient errors")
    backoff_s: float = Field(0.25, ge=0, description="first retry delay, doubled each attempt")
    backoff_max_s: float = Field(8.0, ge=0)
    rate_limit_retry_s: float = Field(1.0, ge=0, description="retry hint of a 429 without Retry-After")
    page_limit: int = Field(200, ge=1, le=1000, description="page size of list endpoints")
    max_pages: int = Field(50, ge=1, description="stop paging a list after this many pages")

    def base_url(self, override: str | None) -> str:
        """``url:`` of the account wins (plain http://127.0.0.1:PORT works); else demo or prod."""
        return (override or (DEMO_URL if self.demo else PROD_URL)).rstrip("/")
