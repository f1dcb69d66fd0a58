"""The ``alpaca`` adapter: one Alpaca account (paper by default), equities and crypto.

Fills come from the account activities endpoint (activity type FILL), not from deltas of an
order's ``filled_qty``/``filled_avg_price``: each activity is one execution with its own id,
quantity and price, so a fill is never applied twice and two fills between polls keep their
own prices. Activities carry Alpaca's order id only; we map it back to our client order id.
Alpaca reports no per-fill fee on FILL activities (crypto fees post as separate CFEE
activities), so ``FillReport.fee`` is 0 and liquidity is reported as taker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from runner.errors import BadInputError, PostOnlyRejected, RejectedError
from venues.alpaca.assets import compact, dec, instrument_from_asset
from venues.alpaca.clients import Clients, build_clients
from venues.alpaca.config import AlpacaConfig
from venues.alpaca.errors import http_status, is_not_found, translated
from venues.alpaca.reports import cfee_record, fill_from_activity, order_report
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
    OrderStatus,
    OrderType,
    PositionReport,
    Side,
    TimeInForce,
    VenueAdapter,
)
from venues.candles import closed
from venues.ratelimit import Priority, RequestBudget
from venues.retry import Backoff, with_backoff
from venues.streams.feed import AccountFeed, StreamParts, feed_for

T = TypeVar("T")

#: what a name must look like when the instrument list cannot be reached (runner validate)
SYMBOL_SHAPE = re.compile(r"^([A-Z0-9]+/[A-Z0-9]+|[A-Z][A-Z.]{0,9})$")


class AlpacaAdapter(VenueAdapter):
    # post-only is emulated: Alpaca has no such flag, so the adapter checks the touch before
    # sending a GTC limit (a book that moves in between can still make it take)
    # native bars: the data streams' minute bars (crypto and stocks), the only timeframe they stream
    capabilities = Capabilities(post_only=True, ioc=True, market_orders=True, shorting=False,
                                native_bars=frozenset({60}))

    def __init__(self, account: str, config: AlpacaConfig, clients: Callable[[], Clients],
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        super().__init__(account)
        self.config = config
        self._make_clients = clients
        self._clients: Clients | None = None
        self.sleep = sleep
        self.clock = clock
        self.backoff = Backoff(config.cancel_attempts, config.cancel_backoff_s, config.cancel_backoff_cap_s)
        self._instruments: dict[str, Instrument] = {}
        self._by_compact: dict[str, str] = {}
        self._cids: dict[str, str] = {}  # Alpaca order id -> our client order id
        self.feed = AccountFeed(account, RequestBudget(account, {}))  # create() sets the real one

    # --- plumbing ----------------------------------------------------------------------
    @property
    def clients(self) -> Clients:
        if self._clients is None:
            self._clients = self._make_clients()
        return self._clients

    def _call(self, fn: Callable[[], T], *, submitting: bool = False, cid: str | None = None,
              cancelling: bool = False) -> T:
        """Spend the account's budget (orders and cancels first), then call with errors translated."""
        budget = self.feed.budget if self.feed is not None else None
        if budget is not None:
            budget.spend(priority=Priority.CANCEL if cancelling else Priority.ORDER if submitting else Priority.READ)
        try:
            with translated(self.account, submitting=submitting, client_order_id=cid,
                            rate_limit_retry_s=self.config.rate_limit_retry_s):
                out = fn()
        except Exception as exc:  # a 429 is a TransientError with Alpaca's (or our default) hint
            hint = getattr(exc, "retry_after", None)
            if budget is not None and hint is not None:
                budget.penalize(hint)
            raise
        if budget is not None:
            budget.answered()
        return out

    def _symbol(self, venue_symbol: str) -> str:
        return self._by_compact.get(compact(venue_symbol), venue_symbol)

    def _report(self, order: Any) -> OrderReport:
        rep = order_report(order, self._symbol)
        if rep.venue_order_id:
            self._cids[rep.venue_order_id] = rep.client_order_id
        return rep

    # --- setup -------------------------------------------------------------------------
    def connect(self) -> None:
        from alpaca.trading.enums import AssetClass, AssetStatus
        from alpaca.trading.requests import GetAssetsRequest

        trading = self.clients.trading
        assets: list[Any] = []
        if self.config.crypto:
            req = GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.CRYPTO)
            assets += self._call(lambda: trading.get_all_assets(req))
        loaded = {a.symbol for a in assets}
        assets += [self._call(lambda s=s: trading.get_asset(s)) for s in self.config.symbols if s not in loaded]
        self._instruments = {a.symbol: instrument_from_asset(a, self.config) for a in assets if a.tradable}
        self._by_compact = {compact(s): s for s in self._instruments}

    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    def symbol_problem(self, symbol: str) -> str | None:
        if not SYMBOL_SHAPE.match(symbol):
            return "not an Alpaca symbol (BASE/QUOTE for crypto, e.g. BTC/USD; a ticker for equities, e.g. AAPL)"
        return None

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        if self._clients is not None:
            for client in (self._clients.trading, self._clients.stocks, self._clients.crypto):
                client._session.close()

    # --- sessions ----------------------------------------------------------------------
    def is_market_open(self, instrument: str | None = None) -> bool:
        """Crypto trades around the clock; equities follow Alpaca's market clock."""
        if instrument is not None and self.instrument(instrument).kind != "equity":
            return True
        return bool(self._call(self.clients.trading.get_clock).is_open)

    def market_clock(self) -> tuple[bool, datetime, datetime]:
        """(is_open, next_open, next_close) of the US equity session."""
        clock = self._call(self.clients.trading.get_clock)
        return bool(clock.is_open), clock.next_open, clock.next_close

    # --- orders ------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> OrderReport:
        from alpaca.trading.enums import OrderSide
        from alpaca.trading.enums import TimeInForce as AlpacaTif
        from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

        inst = self.instrument(req.instrument)
        if req.tif is TimeInForce.POST_ONLY:
            self._refuse_if_crossing(req)
        tif = AlpacaTif.IOC if req.tif is TimeInForce.IOC else AlpacaTif.GTC
        if inst.kind == "equity" and inst.lot_size < 1:
            tif = AlpacaTif.DAY  # Alpaca takes fractional equity orders as DAY only
        common: dict[str, Any] = dict(symbol=req.instrument, qty=float(req.qty), client_order_id=req.client_order_id,
                                      side=OrderSide(req.side.value), time_in_force=tif)
        if req.order_type is OrderType.LIMIT:
            order_req: Any = LimitOrderRequest(limit_price=float(req.price or 0), **common)
        else:
            order_req = MarketOrderRequest(**common)
        raw = self._call(lambda: self.clients.trading.submit_order(order_req), submitting=True,
                         cid=req.client_order_id)
        return self._report(raw)

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        try:
            raw = self._call(lambda: self.clients.trading.get_order_by_client_id(client_order_id))
        except RejectedError as exc:
            if is_not_found(exc):
                return None
            raise
        return self._report(raw)

    def _refuse_if_crossing(self, req: OrderRequest) -> None:
        """A post-only order that would take at the current touch is refused here, as the
        venues that have post-only refuse it: the benign :class:`PostOnlyRejected`."""
        book = self.book(req.instrument, depth=1)
        touch = book.asks if req.side is Side.BUY else book.bids
        if req.price is None or not touch:
            return
        best = Decimal(repr(touch[0][0]))
        if (req.side is Side.BUY and req.price >= best) or (req.side is Side.SELL and req.price <= best):
            why = f"post-only {req.side.value} at {req.price} would take the touch {best}"
            raise PostOnlyRejected(f"{self.account}: {why}", venue=self.account, reason=why)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """Cancel by Alpaca's order id, retrying transient failures with exponential backoff."""
        found = with_backoff(lambda: self.order(client_order_id, instrument), self.backoff, self.sleep)
        if found is None or not found.status.is_open or not found.venue_order_id:
            return found
        vid = found.venue_order_id

        def attempt() -> bool:
            try:
                self._call(lambda: self.clients.trading.cancel_order_by_id(vid), cancelling=True)
            except RejectedError as exc:
                # 422 "order is not cancelable" (filled meanwhile) / 404: the lookup tells which
                if http_status(exc) in (404, 422):
                    return False
                raise
            return True

        accepted = with_backoff(attempt, self.backoff, self.sleep)
        report = with_backoff(lambda: self.order(client_order_id, instrument), self.backoff, self.sleep)
        if report is None or not accepted or not report.status.is_open:
            return report
        # Alpaca cancels asynchronously (pending_cancel): the request is accepted, report it so.
        return OrderReport(report.client_order_id, report.instrument, report.side, report.qty,
                           OrderStatus.CANCELLED, report.filled_qty, report.price, report.avg_fill_price,
                           report.venue_order_id, "cancel accepted", report.ts)

    def open_orders(self) -> list[OrderReport]:
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        req = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500)
        return [self._report(o) for o in self._call(lambda: self.clients.trading.get_orders(req))]

    # --- account -----------------------------------------------------------------------
    def fills(self, cursor: str | None = None) -> FillPage:
        """FILL activities after ``cursor`` (an activity id), oldest first, page by page."""
        if self.feed is not None and not self.feed.fills_due(from_start=cursor is None):
            return FillPage([], cursor)  # trade_updates signalled no fill: no request
        out = []
        token = cursor
        for page in self._activity_pages("FILL", cursor):
            for act in page:
                out.append(fill_from_activity(act, self._symbol, self._client_id))
            if page:
                token = page[-1]["id"]
        return FillPage(out, token)

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """Crypto fees: Alpaca takes them from the credited asset and posts them (end of day) as
        CFEE activities, never on the FILL. Each is a fee record of ``qty`` of that asset,
        valued at its ``price`` in the pair's quote (or ``net_amount`` when taken in cash)."""
        out = []
        for page in self._activity_pages("CFEE"):
            for act in page:
                rec = cfee_record(act, self._symbol, self.instruments())
                if since is None or rec.ts > since:
                    out.append(rec)
        return sorted(out, key=lambda c: (c.ts, c.record_id))

    def _activity_pages(self, kind: str, after: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """The account's ``kind`` activities after the activity id ``after``, oldest first, a
        page at a time (at most 50 pages a call; a short page is the last)."""
        token = after
        for _ in range(50):
            params: dict[str, Any] = {"direction": "asc", "page_size": self.config.fills_page_size}
            if token:
                params["page_token"] = token
            page = self._call(lambda p=params: self.clients.trading.get(f"/account/activities/{kind}", p)) or []
            yield page
            if len(page) < self.config.fills_page_size:
                return
            token = page[-1]["id"]

    def _client_id(self, order_id: str) -> str | None:
        if order_id not in self._cids:
            try:
                self._report(self._call(lambda: self.clients.trading.get_order_by_id(order_id)))
            except RejectedError as exc:
                if not is_not_found(exc):
                    raise
        return self._cids.get(order_id)

    def positions(self) -> list[PositionReport]:
        out = []
        for p in self._call(self.clients.trading.get_all_positions):
            qty = dec(p.qty) or Decimal(0)
            if str(getattr(p.side, "value", p.side)) == "short" and qty > 0:
                qty = -qty
            if qty != 0:
                out.append(PositionReport(self._symbol(p.symbol), qty, dec(p.avg_entry_price)))
        return out

    def balances(self) -> list[BalanceReport]:
        acct = self._call(self.clients.trading.get_account)
        cash = dec(acct.cash) or Decimal(0)
        available = dec(acct.non_marginable_buying_power)
        return [BalanceReport(str(acct.currency or "USD"), cash, cash if available is None else available)]

    # --- market data -------------------------------------------------------------------
    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """Crypto: the latest order book. Equities: the latest NBBO quote, as one level. Streamed
        while the data stream is live, else read by REST."""
        if self.feed is None:
            return self._rest_book(instrument, depth)
        self.instrument(instrument)
        return self.feed.book(instrument, depth, lambda: self._rest_book(instrument, depth))

    def _rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        inst = self.instrument(instrument)
        if inst.kind == "equity":
            from alpaca.data.requests import StockLatestQuoteRequest

            qreq = StockLatestQuoteRequest(symbol_or_symbols=instrument, feed=self.config.stock_feed)
            q = self._call(lambda: self.clients.stocks.get_stock_latest_quote(qreq))[instrument]
            # a side with no quote comes as price 0 (halted, pre-open): no level, not a 0 price
            return BookSnapshot(instrument, q.timestamp.timestamp(),
                                [(q.bid_price, q.bid_size)] if q.bid_price > 0 else [],
                                [(q.ask_price, q.ask_size)] if q.ask_price > 0 else [])
        from alpaca.data.requests import CryptoLatestOrderbookRequest

        breq = CryptoLatestOrderbookRequest(symbol_or_symbols=instrument)
        ob = self._call(lambda: self.clients.crypto.get_crypto_latest_orderbook(breq))[instrument]
        return BookSnapshot(
            instrument, ob.timestamp.timestamp() if ob.timestamp else self.clock(),
            [(q.price, q.size) for q in ob.bids[:depth]], [(q.price, q.size) for q in ob.asks[:depth]],
        )


    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        """Historical bars (stock or crypto data API) of the last ``limit + 1`` periods."""
        from datetime import UTC

        from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

        inst = self.instrument(instrument)
        unit = next(((u, timeframe_s // n) for u, n in ((TimeFrameUnit.Day, 86400), (TimeFrameUnit.Hour, 3600),
                                                         (TimeFrameUnit.Minute, 60)) if timeframe_s % n == 0), None)
        if unit is None or limit <= 0 or (unit[0] is TimeFrameUnit.Day and unit[1] != 1):
            return []
        now = self.clock()
        # equities trade a few hours a day: look back far enough to find ``limit`` bars
        span = (limit + 1) * timeframe_s * (1 if inst.kind != "equity" else 5) + (0 if inst.kind != "equity" else 4 * 86400)
        kw = dict(symbol_or_symbols=instrument, timeframe=TimeFrame(unit[1], unit[0]),
                  start=datetime.fromtimestamp(now - span, UTC), end=datetime.fromtimestamp(now, UTC))
        if inst.kind == "equity":
            req = StockBarsRequest(**kw, feed=self.config.stock_feed)
            got = self._call(lambda: self.clients.stocks.get_stock_bars(req))
        else:
            req = CryptoBarsRequest(**kw)
            got = self._call(lambda: self.clients.crypto.get_crypto_bars(req))
        rows = got.data.get(instrument, []) if hasattr(got, "data") else []
        return closed((Candle(b.timestamp.timestamp(), float(b.open), float(b.high), float(b.low), float(b.close),
                              float(b.volume or 0.0)) for b in rows), timeframe_s, now, limit)


def create(account: AccountConfig) -> AlpacaAdapter:
    try:
        config = AlpacaConfig.model_validate(dict(account.settings))
    except ValidationError as exc:
        raise BadInputError(f"venues.yaml: {account.name}: {exc}") from None
    if not config.paper and not account.live and not (account.url or config.url):
        raise BadInputError(f"venues.yaml: {account.name}: paper: false is real money; it needs live: true")

    def clients() -> Clients:
        key, secret = account.secret("api_key"), account.secret("secret_key")
        if not key or not secret:
            missing = ", ".join(account.missing_credentials()) or "credentials: {api_key, secret_key}"
            raise BadInputError(f"venues.yaml: {account.name}: set {missing}")
        return build_clients(config, key, secret, account.url)

    adapter = AlpacaAdapter(account.name, config, clients)

    def stream(parts: StreamParts) -> Any:
        from venues.alpaca.stream import AlpacaStream

        return AlpacaStream(parts, api_key=account.secret("api_key") or "", secret_key=account.secret("secret_key") or "",
                            is_equity=lambda s: adapter.instrument(s).kind == "equity", ws_url=config.ws_url,
                            stock_feed=config.stock_feed, paper=config.paper,
                            trading=config.trading_ws_url is not None or not (account.url or config.url),
                            trading_ws_url=config.trading_ws_url)

    # A url: override (a local stand-in) without ws_url would stream from the real venue: no stream.
    streams = config.ws_url is not None or not (account.url or config.url)
    adapter.feed = feed_for(account.name, "alpaca", config, stream=stream if streams else None,
                            resync=adapter._rest_book)
    return adapter
