"""Settings of a ``hyperliquid`` account in venues.yaml (all optional; testnet unless told)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from venues.http_settings import HttpSettings

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"


class HyperliquidConfig(HttpSettings):
    """Validated once at ``create()``; never a dict afterwards (timeouts and retries: HttpSettings)."""

    testnet: bool = Field(True, description="testnet endpoint unless false (then mainnet)")
    dexes: tuple[str, ...] = Field((), description="HIP-3 builder dexes to load, e.g. ['xyz']")
    spot: bool = Field(True, description="also list spot pairs (BASE/QUOTE)")
    leverage: dict[str, int] = Field(
        default_factory=dict,
        description="leverage set once per coin before its first order; HIP-3 coins use isolated margin",
    )
    vault_address: str | None = Field(None, description="trade for a vault / sub-account")
    market_slippage: Decimal = Field(Decimal("0.05"), gt=0, lt=1,
                                     description="market orders are IOC limits this far through the mid")

    def base_url(self, override: str | None) -> str:
        """``url:`` of the account wins (a local stand-in works); else testnet or mainnet."""
        url = override or (TESTNET_URL if self.testnet else MAINNET_URL)
        return url.rstrip("/")
