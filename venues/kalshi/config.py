"""Settings of a ``kalshi`` account in venues.yaml (all optional; demo unless told)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from venues.http_settings import HttpSettings

DEMO_URL = "https://demo-api.kalshi.co/trade-api/v2"
PROD_URL = "https://api.elections.kalshi.com/trade-api/v2"


class KalshiConfig(HttpSettings):
    """Validated once at ``create()``; never a dict afterwards (timeouts and retries: HttpSettings)."""

    demo: bool = Field(True, description="demo environment unless false (then production)")
    tickers: tuple[str, ...] = Field((), description="market tickers to load at connect()")
    series: tuple[str, ...] = Field((), description="series whose open markets load at connect()")
    page_limit: int = Field(200, ge=1, le=1000, description="page size of list endpoints")
    max_pages: int = Field(50, ge=1, description="stop paging a list after this many pages")
    tier: Literal["basic", "advanced", "premier", "prime"] = Field(
        "basic", description="the account's API access tier: its read/write limits per second")

    def base_url(self, override: str | None) -> str:
        """``url:`` of the account wins (plain http://127.0.0.1:PORT works); else demo or prod."""
        return (override or (DEMO_URL if self.demo else PROD_URL)).rstrip("/")
