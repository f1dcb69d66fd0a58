"""The ``kalshi`` adapter: one account on the trade-api v2 (demo by default), no SDK.

Every order carries our ``client_order_id``. A 409 on create means Kalshi already has that
id: the adapter recovers the existing order by client id instead of failing; a timeout
after sending raises AmbiguousError and :meth:`KalshiAdapter.order` recovers it the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from runner.errors import PrecisionError, RejectedError
from venues.base import (
    AccountConfig,
    BalanceReport,
    BookSnapshot,
    Candle,
    Capabilities,
    CashflowReport,
    FillPage,
    FillReport,
    Instrument,
    OrderReport,
    OrderRequest,
    OrderType,
    PositionReport,
    TimeInForce,
    VenueAdapter,
    settlement_cashflows,
)
from venues.candles import closed
from venues.kalshi import markets
from venues.kalshi.config import KalshiConfig
from venues.kalshi.errors import reason
from venues.kalshi.signing import KalshiAuth, load_private_key
from venues.kalshi.transport import KalshiHttp
from venues.ratelimit import KALSHI_TIERS, RequestBudget
from venues.retry import with_backoff
from venues.streams.feed import AccountFeed, feed_for
from venues.streams.protocol import StreamProtocol

SETTLEMENT_RECHECK_S = 60.0

TIF = {TimeInForce.GTC: "good_till_canceled", TimeInForce.POST_ONLY: "good_till_canceled",
       TimeInForce.IOC: "immediate_or_cancel"}


class KalshiAdapter(VenueAdapter):
    capabilities = Capabilities(post_only=True, ioc=True, market_orders=False, reduce_only=True,
                                cancel_all=False, price_band=False, funding=False, binary_markets=True,
                                nets_binary_legs=True, shorting=False)

    def __init__(self, account: str, config: KalshiConfig, base_url: str, *, key_id: str | None = None,
                 private_key_path: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(account)
        self.config = config
        self.base_url = base_url
        self._key_id = key_id
        self._key_path = private_key_path
        self._sleep = sleep
        self._clock = clock
        self._auth: KalshiAuth | None = None
        self.feed = AccountFeed(account, RequestBudget(account, {}))  # create() sets the real one
        self._http: KalshiHttp | None = None
        self._instruments: dict[str, Instrument] = {}
        self._order_ids: dict[str, str] = {}  # client order id -> Kalshi order id
        self._cids: dict[str, str] = {}  # Kalshi order id -> client order id
        self._unknown_orders: set[str] = set()  # order ids the venue no longer serves (asked once)
        self._settled: dict[str, dict[str, float]] = {}  # ticker -> settlement facts, once found
        self._settled_asked: dict[str, float] = {}  # ticker -> when the settlements were last asked

    def __repr__(self) -> str:
        return f"KalshiAdapter({self.account!r}, {self.base_url!r})"

    # --- setup -------------------------------------------------------------------------
    def connect(self) -> None:
        """Check the key file, then load the configured markets (both sides of each)."""
        auth = None
        if self._key_id and self._key_path:
            auth = KalshiAuth(self._key_id, load_private_key(self._key_path), self._clock)
        cfg = self.config
        self._auth = auth
        self._http = KalshiHttp(self.base_url, venue=self.account, timeout=cfg.timeout_s, auth=auth,
                                rate_limit_retry_s=cfg.rate_limit_retry_s, page_limit=cfg.page_limit,
                                max_pages=cfg.max_pages, budget=self.feed.budget if self.feed else None)
        for ticker in cfg.tickers:
            self._load_market(ticker)
        for series in cfg.series:
            for market in self.http.pages("/markets", "markets", series_ticker=series, status="open"):
                self._add(market)

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        if self._http is not None:
            self._http.close()

    def stream_protocol(self) -> StreamProtocol:
        from venues.kalshi.stream import KalshiStream, ws_url

        return KalshiStream(self.config.ws_url or ws_url(self.base_url), auth=self._auth)

    @property
    def http(self) -> KalshiHttp:
        if self._http is None:
            raise RejectedError(f"{self.account}: not connected", venue=self.account, reason="not connected")
        return self._http

    def _add(self, market: Mapping[str, Any]) -> None:
        for inst in markets.instruments(market):
            self._instruments[inst.symbol] = inst

    def _load_market(self, ticker: str) -> bool:
        resp = self.http.request("GET", f"/markets/{ticker}", allow=(404,))
        if resp.status_code == 404:
            return False
        self._add(resp.json()["market"])
        return True

    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    def symbol_problem(self, symbol: str) -> str | None:
        try:
            markets.parse_symbol(symbol)
        except RejectedError as exc:
            return exc.message.removeprefix("kalshi: ")
        return None

    def instrument(self, symbol: str) -> Instrument:
        """Markets not configured are looked up on first use (any open ticker is tradable)."""
        if symbol not in self._instruments:
            ticker, _ = markets.parse_symbol(symbol)
            if not self._load_market(ticker):
                raise RejectedError(f"unknown instrument {symbol!r} on {self.account}", venue=self.account,
                                    reason="unknown market")
        return self._instruments[symbol]

    # --- orders ------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> OrderReport:
        ticker, side = markets.split_symbol(req.instrument)
        inst = self.instrument(req.instrument)
        if req.order_type is not OrderType.LIMIT or req.price is None:
            raise RejectedError(f"{self.account}: only limit orders (with a price in cents)",
                                venue=self.account, reason="market orders unsupported")
        if req.qty <= 0 or inst.floor_qty(req.qty) != req.qty:
            raise PrecisionError(f"{req.instrument}: {req.qty} is not a whole number of contracts")
        if req.price != req.price.to_integral_value() or not 1 <= req.price <= 99:
            raise PrecisionError(f"{req.instrument}: price {req.price} is not a whole cent in 1..99")
        body: dict[str, Any] = {
            "ticker": ticker, "client_order_id": req.client_order_id, "side": side,
            "action": req.side.value, "count": int(req.qty), "type": "limit",
            f"{side}_price": int(req.price), "time_in_force": TIF[req.tif],
        }
        if req.tif is TimeInForce.POST_ONLY:
            body["post_only"] = True
        if req.reduce_only:
            body["reduce_only"] = True
        resp = self.http.request("POST", "/portfolio/orders", json=body, client_order_id=req.client_order_id,
                                 allow=(409,))
        if resp.status_code == 409:  # that client id exists: it is our earlier attempt
            existing = self._find(req.client_order_id, ticker)
            if existing is None:
                why = reason(resp)
                raise RejectedError(f"{self.account}: 409 {why}", venue=self.account, reason=why)
            return existing
        return self._remember(markets.order_report(resp.json()["order"]), req.client_order_id)

    def _remember(self, rep: OrderReport, cid: str | None = None) -> OrderReport:
        cid = cid or rep.client_order_id
        if rep.venue_order_id:
            self._order_ids[cid] = rep.venue_order_id
            self._cids[rep.venue_order_id] = cid
        return rep

    def _find(self, client_order_id: str, ticker: str) -> OrderReport | None:
        """Recover an order by client id: Kalshi cannot filter on it, so scan the market's orders."""
        for o in self.http.pages("/portfolio/orders", "orders", ticker=ticker):
            if o.get("client_order_id") == client_order_id:
                return self._remember(markets.order_report(o))
        return None

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        ticker, _ = markets.split_symbol(instrument)
        oid = self._order_ids.get(client_order_id)
        if oid is not None:
            resp = self.http.request("GET", f"/portfolio/orders/{oid}", allow=(404,))
            if resp.status_code != 404:
                return self._remember(markets.order_report(resp.json()["order"]))
        return self._find(client_order_id, ticker)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """DELETE by Kalshi order id, retried with exponential backoff; 404 means already gone."""
        def attempt() -> OrderReport | None:
            known = self._order_ids.get(client_order_id)
            if known is None and self.order(client_order_id, instrument) is None:
                return None
            oid = self._order_ids[client_order_id]
            resp = self.http.request("DELETE", f"/portfolio/orders/{oid}", client_order_id=client_order_id,
                                     allow=(404,))
            if resp.status_code == 404:
                return self.order(client_order_id, instrument)
            return self._remember(markets.order_report(resp.json()["order"]))

        cfg = self.config
        return with_backoff(attempt, cfg.cancel_backoff, self._sleep)

    def open_orders(self) -> list[OrderReport]:
        return [self._remember(markets.order_report(o))
                for o in self.http.pages("/portfolio/orders", "orders", status="resting")]

    # --- fills, positions, balances ----------------------------------------------------
    def fills(self, cursor: str | None = None) -> FillPage:
        """Fills after ``cursor``, oldest first. The cursor is ours (last second seen and the
        fill ids already returned in it): Kalshi pages newest first and filters by second."""
        if self.feed is not None and not self.feed.fills_due(from_start=cursor is None):
            return FillPage([], cursor)  # the stream saw no fill: no request
        since, _, seen_ids = (cursor or "0:").partition(":")
        since_s, seen = int(since), {s for s in seen_ids.split(",") if s}
        rows = list(self.http.pages("/portfolio/fills", "fills", min_ts=since_s or None))
        out: list[tuple[int, FillReport]] = []
        for f in rows:
            second = int(markets.fill_time(f).timestamp())
            fid = str(f.get("fill_id") or f.get("trade_id"))
            if second < since_s or (second == since_s and fid in seen):
                continue
            out.append((second, markets.fill_report(f, self._cid_for(str(f.get("order_id"))))))
        out.sort(key=lambda x: (x[1].ts, x[1].fill_id))
        if not out:
            return FillPage([], cursor)
        last = out[-1][0]
        ids = {r.fill_id for s, r in out if s == last} | (seen if last == since_s else set())
        return FillPage([r for _, r in out], f"{last}:{','.join(sorted(ids))}")

    def _cid_for(self, order_id: str) -> str | None:
        if order_id not in self._cids and order_id not in self._unknown_orders:
            resp = self.http.request("GET", f"/portfolio/orders/{order_id}", allow=(404,))
            if resp.status_code == 404:
                self._unknown_orders.add(order_id)
                return None
            self._remember(markets.order_report(resp.json()["order"]))
        return self._cids.get(order_id)

    def positions(self) -> list[PositionReport]:
        out: list[PositionReport] = []
        for mp in self.http.pages("/portfolio/positions", "market_positions", count_filter="position"):
            out.extend(markets.position_reports(mp))
        return out

    def balances(self) -> list[BalanceReport]:
        """Cash (available) and cash plus the value of positions (total), in dollars."""
        b = self.http.get("/portfolio/balance")
        cash = (Decimal(str(b["balance_dollars"])) if b.get("balance_dollars") is not None
                else Decimal(int(b["balance"])) / 100)
        total = cash + Decimal(int(b.get("portfolio_value") or 0)) / 100
        return [BalanceReport("USD", total, cash)]

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """Settlement payouts from ``/portfolio/settlements`` (``revenue`` in cents, fees
        apart), oldest first."""
        min_ts = int(since.timestamp()) + 1 if since is not None else None
        return settlement_cashflows(self.settlements(min_ts), since, markets.QUOTE)

    def settlements(self, min_ts: int | None = None) -> list[markets.Settlement]:
        """Settled markets (what YES/NO we held and what they paid), newest first."""
        return [markets.settlement(s) for s in self.http.pages("/portfolio/settlements", "settlements",
                                                              min_ts=min_ts)]

    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """A leg's book, or the market's (a bare ticker: both sides in ``extra``): streamed while
        the stream is live, else the REST order book (one read). An empty streamed book is no
        answer, so a settled market is always read by REST, where its settlement rides along."""
        if self.feed is None:
            return self._rest_book(instrument, depth)
        return self.feed.book(instrument, depth, lambda: self._rest_book(instrument, depth))

    def _rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """An empty market book is how a settled market looks: its settlement, read from the
        venue's own records, rides along in ``extra`` so the engine books it like the sim's."""
        ticker, side = markets.parse_symbol(instrument)
        payload = self.http.get(f"/markets/{ticker}/orderbook", depth=min(max(depth, 1), 100))
        snap = markets.book(instrument, payload, depth, self._clock())
        if side is None and not snap.bids and not snap.asks:
            facts = self._settlement_facts(ticker)
            if facts:
                snap = markets.book(instrument, payload, depth, self._clock(), facts)
        return snap

    def _settlement_facts(self, ticker: str) -> dict[str, float]:
        """The settlement of ``ticker`` from ``/portfolio/settlements``, else from the settled
        market's ``result`` (asked at most once a minute per market until found; then kept)."""
        known = self._settled.get(ticker)
        if known is not None:
            return known
        now = self._clock()
        if now - self._settled_asked.get(ticker, -1e18) < SETTLEMENT_RECHECK_S:
            return {}
        self._settled_asked[ticker] = now
        facts: dict[str, float] = {}
        for s in self.http.pages("/portfolio/settlements", "settlements", ticker=ticker):
            if s.get("ticker") == ticker:
                facts = markets.settlement_facts(markets.settlement(s))
                break
        else:  # no record of ours (a YES+NO pair nets to nothing): the market's own result
            resp = self.http.request("GET", f"/markets/{ticker}", allow=(404,))
            if resp.status_code != 404:
                facts = markets.market_result_facts(resp.json()["market"])
        if facts:
            self._settled[ticker] = facts
        return facts


    PERIODS = {60: 1, 3600: 60, 86400: 1440}  # the candlestick periods Kalshi serves, in minutes

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        """A leg's mid from the market's candlesticks (its series found through its event)."""
        ticker, side = markets.split_symbol(instrument)
        period = self.PERIODS.get(timeframe_s)
        if period is None or limit <= 0:
            return []
        market = self.http.get(f"/markets/{ticker}")["market"]
        series = self.http.get(f"/events/{market['event_ticker']}")["event"]["series_ticker"]
        now = self._clock()
        payload = self.http.get(f"/series/{series}/markets/{ticker}/candlesticks",
                                start_ts=int(now) - (limit + 1) * timeframe_s, end_ts=int(now), period_interval=period)
        return closed(markets.candles(payload, side, timeframe_s), timeframe_s, now, limit)


def create(account: AccountConfig) -> KalshiAdapter:
    """Build (no network, no key read) from venues.yaml: settings are :class:`KalshiConfig`
    keys; credentials name the env vars ``key_id`` and ``private_key_path``."""
    try:
        config = KalshiConfig.model_validate(dict(account.settings))
    except ValidationError as exc:
        from runner.errors import BadInputError

        raise BadInputError(f"venues.yaml: {account.name}: {exc}") from None
    adapter = KalshiAdapter(account.name, config, config.base_url(account.url), key_id=account.secret("key_id"),
                            private_key_path=account.secret("private_key_path"))
    adapter.feed = feed_for(account.name, "kalshi", config, protocol=adapter.stream_protocol,
                            resync=adapter._rest_book, limits=KALSHI_TIERS[config.tier])
    adapter.feed.stamp_as_of = True  # Kalshi's books carry no time: a REST read is stamped "now"
    return adapter
