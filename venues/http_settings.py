"""Settings every HTTP venue account shares: timeouts and how cancels retry (see retry.py)."""

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

    @property
    def cancel_backoff(self) -> Backoff:
        return Backoff(self.cancel_retries, self.backoff_s, self.backoff_max_s)
