"""The ``hyperliquid`` adapter: one account (testnet by default) through the official SDK.

Commands go through ``Exchange`` (signed with the account's secret key), reports come from
``Info``. :class:`HyperliquidAdapter` is the façade the runner holds; it composes the link
(the SDK clients, and the one door every call passes, which translates errors), the orders,
the account's reads and the market data, and keeps the stream feed, which paces the reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import ValidationError

from venues.base import (
    AccountConfig,
    BalanceReport,
    BookSnapshot,
    Candle,
    Capabilities,
    CashflowReport,
    FillPage,
    Instrument,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAdapter,
)
from venues.hyperliquid import market, precision
from venues.hyperliquid.account import HyperliquidAccount
from venues.hyperliquid.config import HyperliquidConfig
from venues.hyperliquid.link import HyperliquidLink
from venues.hyperliquid.market import HyperliquidMarket
from venues.hyperliquid.orders import HyperliquidOrders
from venues.ratelimit import RequestBudget
from venues.streams.feed import AccountFeed, feed_for

if TYPE_CHECKING:
    from venues.streams.protocol import StreamProtocol

#: what a name must look like when the instrument list cannot be reached (runner validate)
SYMBOL_SHAPE = re.compile(r"^([a-z0-9]+:)?[A-Za-z0-9]+(/[A-Za-z0-9]+)?$")


class HyperliquidAdapter(VenueAdapter):
    # native bars: the WebSocket ``candle`` channel's intervals up to a day (1m .. 1d, as INTERVALS)
    capabilities = Capabilities(post_only=True, ioc=True, market_orders=True, reduce_only=True,
                                cancel_all=False, price_band=True, funding=False,
                                native_bars=frozenset({60, 180, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200,
                                                       86400}))
    INTERVALS = market.INTERVALS

    def __init__(self, account: str, config: HyperliquidConfig, base_url: str, *,
                 secret_key: str | None = None, account_address: str | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(account)
        self.config = config
        self.base_url = base_url
        self.link = HyperliquidLink(account, config, base_url, secret_key=secret_key, account_address=account_address)
        self.orders = HyperliquidOrders(self.link, self.instrument, lambda: self.fills(None), sleep)
        self.account_reads = HyperliquidAccount(self.link, self.orders)
        self.market = HyperliquidMarket(self.link, self.instrument)
        self.feed = AccountFeed(account, RequestBudget(account, {}))  # create() sets the real one

    def __repr__(self) -> str:  # never show the key
        return f"HyperliquidAdapter({self.account!r}, {self.base_url!r})"

    # --- setup -------------------------------------------------------------------------
    def connect(self) -> None:
        self.link.connect(self.feed.budget if self.feed else None)

    def symbol_problem(self, symbol: str) -> str | None:
        if not SYMBOL_SHAPE.match(symbol):
            return "not a Hyperliquid name (a perp COIN such as BTC, dex:COIN for HIP-3, BASE/QUOTE for spot)"
        return None

    def instruments(self) -> Mapping[str, Instrument]:
        return self.link.instruments()

    def prepare(self, req: OrderRequest) -> OrderRequest:
        """Floor the size to the lot; put the price on the 5-significant-figure grid (passive)."""
        inst = self.instrument(req.instrument)
        qty = inst.floor_qty(req.qty)
        price = precision.round_price(req.price, req.side, inst) if req.price is not None else None
        inst.check_order(qty, price, req.reduce_only)
        if qty == req.qty and price == req.price:
            return req
        return OrderRequest(req.client_order_id, req.instrument, req.side, qty, req.order_type, price,
                            req.tif, req.reduce_only)

    def is_flat_with_dust(self, qty: Decimal, instrument: str) -> bool:
        return precision.is_flat_with_dust(qty, self.instrument(instrument))

    def prove_credentials(self) -> tuple[bool | None, str]:
        return self.link.prove_credentials()

    # --- orders (venues.hyperliquid.orders) ----------------------------------------------
    def submit(self, req: OrderRequest) -> OrderReport:
        return self.orders.submit(req)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        return self.orders.cancel(client_order_id, instrument)

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        return self.orders.order(client_order_id, instrument)

    def open_orders(self) -> list[OrderReport]:
        return self.orders.open_orders()

    # --- fills, positions, balances (venues.hyperliquid.account) -------------------------
    def fills(self, cursor: str | None = None) -> FillPage:
        """Fills after ``cursor``, oldest first; none read while the stream saw no fill."""
        if self.feed is not None and not self.feed.fills_due(from_start=cursor is None):
            return FillPage([], cursor)  # the stream saw no fill: no request
        return self.account_reads.fills(cursor)

    def positions(self) -> list[PositionReport]:
        return self.account_reads.positions()

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        return self.account_reads.cashflows(since)

    def balances(self) -> list[BalanceReport]:
        return self.account_reads.balances()

    # --- market data (venues.hyperliquid.market) -----------------------------------------
    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """The streamed ``l2Book`` while the stream is live, else ``l2Book`` by REST (weight 2)."""
        if self.feed is None:
            return self._rest_book(instrument, depth)
        snap = self.feed.book(instrument, depth, lambda: self._rest_book(instrument, depth))
        return self.market.with_funding(snap, instrument)

    def _rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        return self.market.rest_book(instrument, depth)

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        return self.market.candles(instrument, timeframe_s, limit)

    def stream_protocol(self) -> StreamProtocol:
        from venues.hyperliquid.stream import HyperliquidStream, ws_url

        c = self.link.c()
        return HyperliquidStream(self.config.ws_url or ws_url(self.base_url), coin=lambda s: self.instrument(s).venue_symbol,
                                 symbol=self.link.symbol, user=c.address)

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()


def create(account: AccountConfig) -> HyperliquidAdapter:
    """Build (no network) from venues.yaml: settings are :class:`HyperliquidConfig` keys,
    credentials name the env vars ``secret_key`` and ``account_address``."""
    try:
        config = HyperliquidConfig.model_validate(dict(account.settings))
    except ValidationError as exc:
        from runner.errors import BadInputError

        raise BadInputError(f"venues.yaml: {account.name}: {exc}") from None
    secret_key, address = account.secret("secret_key"), account.secret("account_address")
    _check_shape(account, "secret_key", secret_key, 64, "a private key: 0x and 64 hex digits")
    _check_shape(account, "account_address", address, 40, "an address: 0x and 40 hex digits")
    adapter = HyperliquidAdapter(account.name, config, config.base_url(account.url),
                                 secret_key=secret_key, account_address=address)
    from venues.hyperliquid.client import FILL_READ_WEIGHT

    adapter.feed = feed_for(account.name, "hyperliquid", config, protocol=adapter.stream_protocol,
                            resync=adapter._rest_book, fill_weight=FILL_READ_WEIGHT)
    return adapter


def _check_shape(account: AccountConfig, key: str, value: str | None, digits: int, what: str) -> None:
    """A malformed credential is bad input naming its environment variable (never its value),
    not a binascii traceback from deep inside the signing library."""
    if value is None:
        return
    hexpart = value[2:] if value[:2].lower() == "0x" else value
    if len(hexpart) != digits or any(c not in "0123456789abcdefABCDEF" for c in hexpart):
        from runner.errors import BadInputError

        raise BadInputError(f"account {account.name}: ${account.credentials.get(key)} (credentials.{key}) "
                            f"is malformed: expected {what}")
