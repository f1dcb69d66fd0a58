"""Settings every HTTP venue account shares: timeouts, how cancels retry (see retry.py), and
streaming and the request budget (see streams/ and ratelimit.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from venues.retry import Backoff


class HttpSettings(BaseModel):
    """Validated once at ``create()``; never a dict afterwards."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout; a timeout after an order is ambiguous")
    cancel_retries: int = Field(4, ge=1, le=10, description="attempts of a cancel on transient errors")
    backoff_s: float = Field(0.25, ge=0, description="first retry delay, doubled each attempt")
    backoff_max_s: float = Field(8.0, ge=0)
    rate_limit_retry_s: float = Field(1.0, ge=0, description="retry hint of a 429 without Retry-After")
    stream: bool = Field(True, description="market data and fill signals by WebSocket; REST is the fallback")
    ws_url: str | None = Field(None, description="WebSocket endpoint; default derived from the REST URL")
    stream_stale_s: float | None = Field(None, gt=0, description="silence that makes the stream stale (venue default)")
    fill_poll_s: float = Field(5.0, gt=0, description="with a live stream, read REST fills at least this often")
    budget_scale: float = Field(1.0, gt=0, le=1, description="share of the venue's published rate limits to use")

    @property
    def cancel_backoff(self) -> Backoff:
        return Backoff(self.cancel_retries, self.backoff_s, self.backoff_max_s)
