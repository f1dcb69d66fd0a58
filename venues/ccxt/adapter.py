"""The ``ccxt`` adapter: one account on any ccxt exchange (default OKX demo trading).

Our instrument names are ccxt unified symbols ("BTC/USDT", "BTC/USDT:USDT"). Quantities are
in base units on every market: a swap's contracts (ccxt's amount) are converted with the
contract size (OKX ``ctVal``) here, at the boundary, so notional is qty x price everywhere
else. A fee the venue took in the base asset is converted to the quote at the fill price.
Every SDK call goes through :meth:`CcxtAdapter._call`, where ccxt errors become ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
from pydantic import ValidationError

from runner.errors import BadInputError, RejectedError, RunnerError
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
from venues.candles import closed, timeframe_label
from venues.ccxt.config import CcxtConfig
from venues.ccxt.errors import install_code_overrides, retry_after_header, translated
from venues.ccxt.fills import collect_fills
from venues.ccxt.precision import contract_size, dec, instrument_from_market
from venues.ratelimit import Limit, Priority, RequestBudget
from venues.retry import Backoff, with_backoff
from venues.streams.feed import AccountFeed, StreamParts, feed_for

T = TypeVar("T")
ZERO = Decimal(0)

#: Exchanges whose fetch/cancel accept ``params={"clientOrderId": ...}`` in ccxt.
NATIVE_CLIENT_ID_LOOKUP = frozenset({"okx", "binance", "binanceusdm", "bybit", "bitget", "gate", "kucoin"})

#: OKX ``cancelSource`` "31": the venue took a post-only order and cancelled it because it would
#: have taken liquidity (OKX does not refuse it at placement): a normal maker event.
POST_ONLY_CANCEL_SOURCES = {"okx": "31"}
POST_ONLY_CANCELLED = "post-only order would have taken liquidity (cancelled by the venue)"

_STATUS = {
    "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED, "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED, "rejected": OrderStatus.REJECTED,
}

FUNDING_RATE_S = 30.0  # a swap's funding rate is read at most this often


def funding_extra(fr: Mapping[str, Any]) -> dict[str, float]:
    """``funding_rate`` (per interval) and ``funding_interval_s`` from a ccxt funding-rate structure."""
    rate = dec(fr.get("fundingRate"))
    if rate is None:
        return {}
    info = fr.get("info") or {}
    try:
        interval = (int(info["nextFundingTime"]) - int(info["fundingTime"])) / 1000.0
    except (KeyError, TypeError, ValueError):
        interval = 0.0
    out = {"funding_rate": float(rate)}
    if interval > 0:
        out["funding_interval_s"] = interval
    return out


#: what a name must look like when the instrument list cannot be reached (runner validate)
SYMBOL_SHAPE = re.compile(r"^[A-Za-z0-9.]+/[A-Za-z0-9.]+(:[A-Za-z0-9.]+(-[A-Za-z0-9]+)*)?$")


class CcxtAdapter(VenueAdapter):
    capabilities = Capabilities(post_only=True, ioc=True, market_orders=True, reduce_only=True)

    def __init__(self, account: str, config: CcxtConfig, exchange: Any,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        super().__init__(account)
        self.config = config
        self.exchange = exchange
        self.sleep = sleep
        self.clock = clock
        self.backoff = Backoff(config.cancel_attempts, config.cancel_backoff_s, config.cancel_backoff_cap_s)
        self._instruments: dict[str, Instrument] = {}
        self._ct: dict[str, Decimal] = {}  # symbol -> base units per contract (1 for spot)
        self._funding: dict[str, tuple[float, dict[str, float]]] = {}  # symbol -> (read at, extra)
        self._cids: dict[str, str] = {}  # venue order id -> our client id, for fills without one
        self._native_bars: frozenset[int] | None = None  # native_timeframes(), once asked
        native = config.lookup_by_client_id
        self._native_lookup = exchange.id in NATIVE_CLIENT_ID_LOOKUP if native is None else native
        self.feed = AccountFeed(account, RequestBudget(account, {}))  # create() sets the real one
        self._account_config = AccountConfig(account, "ccxt")  # create() sets the real one (credentials)

    # --- plumbing ----------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], *, submitting: bool = False, cid: str | None = None,
              cancelling: bool = False) -> T:
        def hint() -> float:
            return retry_after_header(self.exchange, self.config.rate_limit_retry_s)

        budget = self.feed.budget if self.feed is not None else None
        if budget is not None:  # the account's budget first: orders and cancels may spend its reserve
            budget.spend(priority=Priority.CANCEL if cancelling else Priority.ORDER if submitting else Priority.READ)
        with translated(self.account, submitting=submitting, client_order_id=cid, retry_after=hint):
            try:
                out = fn()
            except ccxt.RateLimitExceeded:
                if budget is not None:
                    budget.penalize(hint())
                raise
        if budget is not None:
            budget.answered()
        return out

    # --- setup -------------------------------------------------------------------------
    def connect(self) -> None:
        markets = self._call(self.exchange.load_markets)
        wanted = set(self.config.symbols) if self.config.symbols else None
        mode = int(self.exchange.precisionMode)
        self._instruments = {
            sym: instrument_from_market(m, mode)
            for sym, m in markets.items()
            if (wanted is None or sym in wanted) and m.get("active") is not False
        }
        self._ct = {sym: contract_size(markets[sym]) for sym in self._instruments}
        if wanted and (missing := wanted - set(self._instruments)):
            raise RejectedError(f"{self.account}: {self.exchange.id} lists no active {sorted(missing)}",
                                venue=self.account, reason="unknown symbols")

    def symbol_problem(self, symbol: str) -> str | None:
        if not SYMBOL_SHAPE.match(symbol):
            return "not a ccxt unified symbol (BASE/QUOTE for spot, BASE/QUOTE:SETTLE for a swap)"
        return None

    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()

    # --- orders ------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> OrderReport:
        self.instrument(req.instrument)
        params: dict[str, Any] = {"clientOrderId": req.client_order_id}
        if req.tif is TimeInForce.IOC:
            params["timeInForce"] = "IOC"
        elif req.tif is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        if req.reduce_only:
            params["reduceOnly"] = True
        price = str(req.price) if req.order_type is OrderType.LIMIT and req.price is not None else None
        try:
            raw = self._call(
                lambda: self.exchange.create_order(req.instrument, req.order_type.value, req.side.value,
                                                   str(self.to_venue_qty(req.instrument, req.qty)), price, params),
                submitting=True, cid=req.client_order_id,
            )
        except RejectedError as exc:
            # The venue already holds this client id (a resend after a timeout): report that order.
            if isinstance(exc.__cause__, ccxt.DuplicateOrderId):
                found = self.order(req.client_order_id, req.instrument)
                if found is not None:
                    return found
            raise
        return self._report(raw, fallback=req)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """Cancel, retrying transient failures with exponential backoff; then report the state."""
        self.instrument(instrument)

        def attempt() -> bool:
            try:
                if self._native_lookup:
                    self._call(lambda: self.exchange.cancel_order(
                        "", instrument, {"clientOrderId": client_order_id}), cancelling=True)
                else:
                    found = self._find_by_scan(client_order_id, instrument)
                    if found is None or not found.status.is_open or not found.venue_order_id:
                        return False
                    vid = found.venue_order_id
                    self._call(lambda: self.exchange.cancel_order(vid, instrument), cancelling=True)
            except RejectedError as exc:
                if isinstance(exc.__cause__, ccxt.OrderNotFound):
                    return False  # already filled, cancelled, or never seen: the lookup tells which
                raise
            return True

        cancelled = with_backoff(attempt, self.backoff, self.sleep)
        report = with_backoff(lambda: self.order(client_order_id, instrument), self.backoff, self.sleep)
        if report is None or not cancelled or not report.status.is_open:
            return report
        # The venue acknowledged the cancel but its order view has not caught up yet.
        return OrderReport(report.client_order_id, report.instrument, report.side, report.qty,
                           OrderStatus.CANCELLED, report.filled_qty, report.price, report.avg_fill_price,
                           report.venue_order_id, "cancel acknowledged", report.ts)

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        self.instrument(instrument)
        if not self._native_lookup:
            return self._find_by_scan(client_order_id, instrument)
        try:
            params = {"clientOrderId": client_order_id}
            raw = self._call(lambda: self.exchange.fetch_order("", instrument, params))
        except RejectedError as exc:
            if isinstance(exc.__cause__, ccxt.OrderNotFound):
                return None
            raise
        return self._report(raw)

    def _find_by_scan(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """For exchanges without lookup by client id: scan open, then recent closed orders."""
        for fetch in (self.exchange.fetch_open_orders, self.exchange.fetch_closed_orders):
            for raw in self._call(lambda fetch=fetch: fetch(instrument)):
                if raw.get("clientOrderId") == client_order_id:
                    return self._report(raw)
        return None

    def open_orders(self) -> list[OrderReport]:
        try:
            raws = self._call(self.exchange.fetch_open_orders)
        except RejectedError as exc:
            if not isinstance(exc.__cause__, ccxt.ArgumentsRequired):
                raise
            raws = [r for sym in self._instruments
                    for r in self._call(lambda s=sym: self.exchange.fetch_open_orders(s))]
        return [self._report(r) for r in raws if r.get("symbol") in self._instruments]

    def to_venue_qty(self, symbol: str, qty: Decimal) -> Decimal:
        """Base units -> the venue's amount (contracts on a contract market)."""
        ct = self._ct.get(symbol, Decimal(1))
        return qty if ct == 1 else (qty / ct).normalize()

    def from_venue_qty(self, symbol: str | None, amount: Decimal | None) -> Decimal | None:
        """The venue's amount (contracts) -> base units."""
        ct = self._ct.get(symbol or "", Decimal(1))
        return amount if amount is None or ct == 1 else amount * ct

    def client_id_of(self, venue_order_id: str | None) -> str | None:
        return self._cids.get(venue_order_id) if venue_order_id else None

    def _report(self, raw: Mapping[str, Any], fallback: OrderRequest | None = None) -> OrderReport:
        """A ccxt order structure as our report; a bare acknowledgement falls back on the request."""
        cid = raw.get("clientOrderId") or (fallback.client_order_id if fallback else "")
        if raw.get("id") and cid:
            self._cids[str(raw["id"])] = cid
        sym = raw.get("symbol") or (fallback.instrument if fallback else None)
        filled = self.from_venue_qty(sym, dec(raw.get("filled"))) or ZERO
        status = _STATUS.get(str(raw.get("status")))
        if status is None:
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW
        side = raw.get("side") or (fallback.side.value if fallback else None)
        ts = raw.get("timestamp")
        return OrderReport(
            client_order_id=cid,
            instrument=raw.get("symbol") or (fallback.instrument if fallback else ""),
            side=Side(side),
            qty=self.from_venue_qty(sym, dec(raw.get("amount"))) or (fallback.qty if fallback else ZERO),
            status=status,
            filled_qty=filled,
            price=dec(raw.get("price")) or (fallback.price if fallback else None),
            avg_fill_price=dec(raw.get("average")) if filled else None,
            venue_order_id=raw.get("id") or None,
            reason=self._cancel_reason(raw, status),
            ts=datetime.fromtimestamp(ts / 1000, UTC) if ts else None,
        )

    def _cancel_reason(self, raw: Mapping[str, Any], status: OrderStatus) -> str | None:
        source = POST_ONLY_CANCEL_SOURCES.get(self.exchange.id)
        info = raw.get("info") or {}
        if status is OrderStatus.CANCELLED and source and str(info.get("cancelSource")) == source:
            return POST_ONLY_CANCELLED
        return None

    # --- account -----------------------------------------------------------------------
    def fills(self, cursor: str | None = None) -> FillPage:
        if self.feed is not None and not self.feed.fills_due(from_start=cursor is None):
            return FillPage([], cursor)  # the stream saw no trade of ours: no request
        return collect_fills(self, cursor)

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """Funding paid or received on swaps, from the exchange's own bills (OKX: account bills
        of type 8, via ccxt's ``fetch_funding_history``; amount received > 0), oldest first."""
        if not self.exchange.has.get("fetchFundingHistory") or not any(
                i.kind in ("perp", "future") for i in self._instruments.values()):
            return []
        ms = int(since.timestamp() * 1000) + 1 if since is not None else None
        rows = self._call(lambda: self.exchange.fetch_funding_history(None, ms))
        out = [CashflowReport(f"funding:{r.get('id')}", "funding", str(r.get("symbol")), dec(r.get("amount")) or ZERO,
                              str(r.get("code") or ""), datetime.fromtimestamp(r["timestamp"] / 1000, UTC))
               for r in rows if r.get("symbol") in self._instruments and r.get("timestamp") is not None
               and (ms is None or r["timestamp"] >= ms)]
        return sorted(out, key=lambda c: (c.ts, c.record_id))

    def positions(self) -> list[PositionReport]:
        """Spot holdings come from balances; swap and future positions from fetch_positions."""
        out: list[PositionReport] = []
        spot = {i.base: s for s, i in self._instruments.items()
                if i.kind == "spot" and i.quote == self.config.spot_quote}
        if spot:
            for bal in self.balances():
                sym = spot.get(bal.currency)
                if sym and bal.total != 0:
                    out.append(PositionReport(sym, bal.total))
        if any(i.kind in ("perp", "future") for i in self._instruments.values()):
            for p in self._call(self.exchange.fetch_positions):
                qty = self.from_venue_qty(p.get("symbol"), dec(p.get("contracts"))) or ZERO
                if p.get("symbol") in self._instruments and qty != 0:
                    signed = -qty if p.get("side") == "short" else qty
                    out.append(PositionReport(p["symbol"], signed, dec(p.get("entryPrice"))))
        return out

    def balances(self) -> list[BalanceReport]:
        raw = self._call(self.exchange.fetch_balance)
        totals, free = raw.get("total") or {}, raw.get("free") or {}
        return [
            BalanceReport(ccy, dec(total) or ZERO, dec(free.get(ccy)) or ZERO)
            for ccy, total in sorted(totals.items())
            if total is not None
        ]

    # --- market data -------------------------------------------------------------------
    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """The ccxt.pro book while the stream is live, else ``fetch_order_book``."""
        if self.feed is None:
            return self._rest_book(instrument, depth)
        self.instrument(instrument)
        snap = self.feed.book(instrument, depth, lambda: self._rest_book(instrument, depth))
        if "funding_rate" not in snap.extra:  # a streamed book: a swap's funding rides along as by REST
            extra = self._funding_extra(instrument)
            if extra:
                snap = dataclasses.replace(snap, extra={**snap.extra, **extra})
        return snap

    def native_timeframes(self) -> frozenset[int]:
        """``watch_ohlcv``'s timeframes while the account streams; found on first ask (ccxt.pro is
        a slow import that only a streaming account pays) and kept in the capabilities."""
        if self.feed is None or not self.feed.enabled:
            return frozenset()
        if self._native_bars is None:
            self._native_bars = native_bars(self.config.exchange)
            self.capabilities = dataclasses.replace(self.capabilities, native_bars=self._native_bars)
        return self._native_bars

    def stream(self, parts: StreamParts) -> Any:
        """The ccxt.pro stream of this account, on the markets the REST client loaded."""
        from venues.ccxt.stream import CcxtStream

        def make() -> Any:
            import ccxt.pro

            pro = build_exchange(self.config, self._account_config, module=ccxt.pro)
            if self.config.ws_url:
                api = pro.urls["api"]
                if isinstance(api, dict):
                    api["ws"] = self.config.ws_url
            pro.set_markets(self.exchange.markets, self.exchange.currencies)
            return pro

        return CcxtStream(parts, make, my_trades=bool(getattr(self.exchange, "apiKey", None)))

    def _rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        self.instrument(instrument)
        raw = self._call(lambda: self.exchange.fetch_order_book(instrument, depth))
        ts = raw.get("timestamp")
        return BookSnapshot(
            instrument,
            ts / 1000.0 if ts else self.clock(),
            [(float(p), float(s)) for p, s, *_ in raw.get("bids", [])[:depth]],
            [(float(p), float(s)) for p, s, *_ in raw.get("asks", [])[:depth]],
            extra=self._funding_extra(instrument),
        )

    def _funding_extra(self, symbol: str) -> dict[str, float]:
        """A swap's current funding rate and interval (OKX: fundingTime to nextFundingTime),
        read at most every ``FUNDING_RATE_S`` per symbol; none when the venue does not say."""
        if self._instruments[symbol].kind != "perp" or not self.exchange.has.get("fetchFundingRate"):
            return {}
        at, extra = self._funding.get(symbol, (-1e18, {}))
        if self.clock() - at >= FUNDING_RATE_S:
            try:
                fr = self._call(lambda: self.exchange.fetch_funding_rate(symbol))
                extra = funding_extra(fr)
            except RejectedError:
                extra = {}
            except RunnerError:
                pass  # keep the last known rate through a transient failure
            self._funding[symbol] = (self.clock(), extra)
        return extra

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        """``fetch_ohlcv`` in the exchange's own timeframe labels; none when it lacks this timeframe."""
        self.instrument(instrument)
        tf = timeframe_label(timeframe_s)
        if tf not in (getattr(self.exchange, "timeframes", None) or {}):
            return []
        rows = self._call(lambda: self.exchange.fetch_ohlcv(instrument, tf, None, limit + 1))
        return closed((Candle(r[0] / 1000.0, float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5] or 0.0))
                       for r in rows), timeframe_s, self.clock(), limit)


def build_exchange(config: CcxtConfig, account: AccountConfig, module: Any = ccxt) -> Any:
    """The ccxt client (``module=ccxt.pro``: its WebSocket twin), configured but not connected."""
    klass = getattr(module, config.exchange, None)
    if klass is None or not isinstance(klass, type):
        raise BadInputError(f"venues.yaml: {account.name}: ccxt has no exchange {config.exchange!r}")
    params: dict[str, Any] = {
        "enableRateLimit": config.enable_rate_limit,
        "timeout": config.timeout_ms,
        "options": dict(config.options),
    }
    if config.market_types is not None:
        params["options"]["fetchMarkets"] = {"types": list(config.market_types)}
    for key in account.credentials:  # apiKey, secret, password (OKX passphrase), uid...
        value = account.secret(key)
        if value:
            params[key] = value
    exchange = klass(params)
    install_code_overrides(exchange)
    if config.sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise BadInputError(f"venues.yaml: {account.name}: {config.exchange} has no sandbox; "
                                "set sandbox: false (and live: true) or give url:") from None
    url = account.url or config.url
    if url:
        base = url.rstrip("/")
        api = exchange.urls.get("api")
        exchange.urls["api"] = {k: base for k in api} if isinstance(api, dict) else base
    return exchange


def create(account: AccountConfig) -> CcxtAdapter:
    try:
        config = CcxtConfig.model_validate(dict(account.settings))
    except ValidationError as exc:
        raise BadInputError(f"venues.yaml: {account.name}: {exc}") from None
    if not config.sandbox and not account.live and not (account.url or config.url):
        raise BadInputError(f"venues.yaml: {account.name}: sandbox: false points at real money; "
                            "it needs live: true on the account")
    adapter = CcxtAdapter(account.name, config, build_exchange(config, account))
    adapter._account_config = account
    # the exchange's own throttle figure (ms between calls; OKX 100: 20 per 2 s) is its published limit
    per_2s = max(1.0, 2000.0 / float(getattr(adapter.exchange, "rateLimit", 100) or 100))
    # a url: override (a local stand-in) without ws_url would stream from the real venue: no stream
    streams = config.ws_url is not None or not (account.url or config.url)
    adapter.feed = feed_for(account.name, "ccxt", config, stream=adapter.stream if streams else None,
                            resync=adapter._rest_book, limits={"rest": Limit(per_2s, 2.0)})
    return adapter


def native_bars(exchange: str) -> frozenset[int]:
    """The timeframes (up to a day) ccxt.pro's ``watch_ohlcv`` streams for ``exchange``; none
    when it has no WebSocket twin or no candle channel. Read from the class: nothing is built."""
    import ccxt.pro

    klass = getattr(ccxt.pro, exchange, None)
    if not isinstance(klass, type):
        return frozenset()
    try:
        described = klass.describe(klass.__new__(klass))
    except Exception:  # a describe() that needs a built instance: say none rather than guess
        return frozenset()
    if not described.get("has", {}).get("watchOHLCV"):
        return frozenset()
    out = set()
    for label in described.get("timeframes") or {}:
        with contextlib.suppress(Exception):
            secs = int(ccxt.Exchange.parse_timeframe(label))
            if 0 < secs <= 86400:
                out.add(secs)
    return frozenset(out)
