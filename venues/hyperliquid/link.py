"""The adapter's hold on the venue: the SDK clients of one account and the one door every SDK
call passes (:meth:`HyperliquidLink.call`, which translates errors into ours). Shared by the
orders, account and market parts of the adapter, so translation and "not connected / no key /
no address" refusals are said once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from runner.errors import RejectedError
from venues.base import Instrument
from venues.hyperliquid.config import HyperliquidConfig
from venues.hyperliquid.errors import translate
from venues.ratelimit import RequestBudget

if TYPE_CHECKING:
    from venues.hyperliquid.client import Clients

T = TypeVar("T")


class HyperliquidLink:
    def __init__(self, account: str, config: HyperliquidConfig, base_url: str, *,
                 secret_key: str | None = None, account_address: str | None = None) -> None:
        self.account = account
        self.config = config
        self.base_url = base_url
        self._secret_key = secret_key
        self._account_address = account_address
        self.clients: Clients | None = None

    def connect(self, budget: RequestBudget | None) -> None:
        from venues.hyperliquid import client

        cfg = self.config
        self.clients = self.call(lambda: client.connect(
            self.base_url, timeout=cfg.timeout_s, dexes=cfg.dexes, spot=cfg.spot,
            secret_key=self._secret_key, account_address=self._account_address,
            vault_address=cfg.vault_address, budget=budget,
            rate_limit_retry_s=cfg.rate_limit_retry_s,
        ), mutating=False)

    def call(self, fn: Callable[[], T], *, mutating: bool, cid: str | None = None, placing: bool = False) -> T:
        try:
            return fn()
        except Exception as exc:
            err = translate(exc, venue=self.account, mutating=mutating, client_order_id=cid,
                            rate_limit_retry_s=self.config.rate_limit_retry_s, placing=placing)
            if err is None:
                raise
            raise err from exc

    def instruments(self) -> Mapping[str, Instrument]:
        return self.clients.instruments if self.clients else {}

    def c(self) -> Clients:
        if self.clients is None:
            raise RejectedError(f"{self.account}: not connected", venue=self.account, reason="not connected")
        return self.clients

    def exchange(self) -> Any:
        ex = self.c().exchange
        if ex is None:
            raise RejectedError(f"{self.account}: no secret key configured; read-only",
                                venue=self.account, reason="no credentials")
        return ex

    def user(self) -> str:
        address = self.c().address
        if not address:
            raise RejectedError(f"{self.account}: no account address configured",
                                venue=self.account, reason="no credentials")
        return address

    def symbol(self, coin: str) -> str:
        for inst in self.instruments().values():
            if inst.venue_symbol == coin:
                return inst.symbol
        return coin

    def dexes(self) -> list[str]:
        return ["", *self.config.dexes]

    def prove_credentials(self) -> tuple[bool | None, str]:
        """Whether the secret key may trade the account: (True, how), (False, why not), or
        (None, what could not be proven). Hyperliquid has no signed read-only request, so the
        proof is that the key's address is the account, or an agent the account approved
        (info ``userRole``); the signature itself is first exercised by an order."""
        c = self.c()
        if c.exchange is None:
            return None, "no secret key configured: read-only, nothing to prove"
        signer = str(c.exchange.wallet.address)
        account = c.address or signer
        role = self.call(lambda: c.info.user_role(signer), mutating=False) or {}
        kind, data = role.get("role"), role.get("data") or {}
        if signer.lower() == account.lower():
            if kind in ("user", "subAccount", "vault"):
                return True, f"the key's address {signer} is a {kind} account (userRole); no signed read exists"
            return False, f"the key's address {signer} has no account on this venue (userRole: {kind}): wrong key?"
        if kind == "agent" and str(data.get("user", "")).lower() == account.lower():
            return True, f"the key's address {signer} is an agent approved by {account} (userRole)"
        return False, (f"the key's address {signer} is not {account} nor an agent it approved "
                       f"(userRole: {kind}): wrong key or wrong account_address?")
