"""Settings of a ``hyperliquid`` account in venues.yaml (all optional; testnet unless told)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"


class HyperliquidConfig(BaseModel):
    """Validated once at ``create()``; never a dict afterwards."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    testnet: bool = Field(True, description="testnet endpoint unless false (then mainnet)")
    dexes: tuple[str, ...] = Field((), description="HIP-3 builder dexes to load, e.g. ['xyz']")
    spot: bool = Field(True, description="also list spot pairs (BASE/QUOTE)")
    leverage: dict[str, int] = Field(
        default_factory=dict,
        description="leverage set once per coin before its first order; HIP-3 coins use isolated margin",
    )
    vault_address: str | None = Field(None, description="trade for a vault / sub-account")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout; a timeout after an order is ambiguous")
    cancel_retries: int = Field(4, ge=1, le=10, description="attempts of a cancel on transient errors")
    backoff_s: float = Field(0.25, ge=0, description="first retry delay, doubled each attempt")
    backoff_max_s: float = Field(8.0, ge=0)
    rate_limit_retry_s: float = Field(1.0, ge=0, description="retry hint of a 429 without Retry-After")
    market_slippage: Decimal = Field(Decimal("0.05"), gt=0, lt=1,
                                     description="market orders are IOC limits this far through the mid")

    def base_url(self, override: str | None) -> str:
        """``url:`` of the account wins (a local stand-in works); else testnet or mainnet."""
        url = override or (TESTNET_URL if self.testnet else MAINNET_URL)
        return url.rstrip("/")
