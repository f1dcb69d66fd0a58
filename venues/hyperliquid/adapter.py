"""The ``hyperliquid`` adapter: one account (testnet by default) through the official SDK.

Commands go through ``Exchange`` (signed with the account's secret key), reports come from
``Info``. Every SDK call passes :meth:`HyperliquidAdapter._call`, which translates errors; an
``{"status": "ok"}`` answer whose statuses hold an ``error`` is a rejection, never a success.
Orders carry our client id as cloid, so a lookup after a timeout finds them.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from runner.errors import PrecisionError, RejectedError, TransientError
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
    OrderStatus,
    OrderType,
    PositionReport,
    Side,
    TimeInForce,
    VenueAdapter,
)
from venues.candles import closed, timeframe_label
from venues.hyperliquid import precision, reports
from venues.hyperliquid.config import HyperliquidConfig
from venues.hyperliquid.errors import action_error, statuses, translate
from venues.ratelimit import RequestBudget
from venues.retry import with_backoff
from venues.streams.feed import AccountFeed, feed_for

if TYPE_CHECKING:
    from venues.hyperliquid.client import Clients
    from venues.streams.protocol import StreamProtocol

T = TypeVar("T")
TIF = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}

FUNDING_CTX_S = 10.0  # asset contexts (funding rates) are read at most this often
FUNDING_INTERVAL_S = 3600.0  # Hyperliquid settles funding every hour

#: what a name must look like when the instrument list cannot be reached (runner validate)
SYMBOL_SHAPE = re.compile(r"^([a-z0-9]+:)?[A-Za-z0-9]+(/[A-Za-z0-9]+)?$")


class HyperliquidAdapter(VenueAdapter):
    # native bars: the WebSocket ``candle`` channel's intervals up to a day (1m .. 1d, as INTERVALS)
    capabilities = Capabilities(post_only=True, ioc=True, market_orders=True, reduce_only=True,
                                cancel_all=False, price_band=True, funding=False,
                                native_bars=frozenset({60, 180, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200,
                                                       86400}))

    def __init__(self, account: str, config: HyperliquidConfig, base_url: str, *,
                 secret_key: str | None = None, account_address: str | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(account)
        self.config = config
        self.base_url = base_url
        self._secret_key = secret_key
        self._account_address = account_address
        self._sleep = sleep
        self._clients: Clients | None = None
        self._cid_by_cloid: dict[str, str] = {}
        self._cid_by_oid: dict[int, str] = {}
        self._fills = reports.FillBook()
        self._leverage_set: set[str] = set()
        self._funding: dict[str, float] = {}  # coin -> current funding rate per interval
        self._ctx_at = -1e18
        self._no_cloid: set[int] = set()  # orders placed without a cloid (asked once)
        self.feed = AccountFeed(account, RequestBudget(account, {}))  # create() sets the real one

    def __repr__(self) -> str:  # never show the key
        return f"HyperliquidAdapter({self.account!r}, {self.base_url!r})"

    # --- setup -------------------------------------------------------------------------
    def connect(self) -> None:
        from venues.hyperliquid import client

        cfg = self.config
        self._clients = self._call(lambda: client.connect(
            self.base_url, timeout=cfg.timeout_s, dexes=cfg.dexes, spot=cfg.spot,
            secret_key=self._secret_key, account_address=self._account_address,
            vault_address=cfg.vault_address, budget=self.feed.budget if self.feed else None,
            rate_limit_retry_s=cfg.rate_limit_retry_s,
        ), mutating=False)

    def symbol_problem(self, symbol: str) -> str | None:
        if not SYMBOL_SHAPE.match(symbol):
            return "not a Hyperliquid name (a perp COIN such as BTC, dex:COIN for HIP-3, BASE/QUOTE for spot)"
        return None

    def instruments(self) -> Mapping[str, Instrument]:
        return self._clients.instruments if self._clients else {}

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

    # --- plumbing ----------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], *, mutating: bool, cid: str | None = None, placing: bool = False) -> T:
        try:
            return fn()
        except Exception as exc:
            err = translate(exc, venue=self.account, mutating=mutating, client_order_id=cid,
                            rate_limit_retry_s=self.config.rate_limit_retry_s, placing=placing)
            if err is None:
                raise
            raise err from exc

    def _c(self) -> Clients:
        if self._clients is None:
            raise RejectedError(f"{self.account}: not connected", venue=self.account, reason="not connected")
        return self._clients

    def prove_credentials(self) -> tuple[bool | None, str]:
        """Whether the secret key may trade the account: (True, how), (False, why not), or
        (None, what could not be proven). Hyperliquid has no signed read-only request, so the
        proof is that the key's address is the account, or an agent the account approved
        (info ``userRole``); the signature itself is first exercised by an order."""
        c = self._c()
        if c.exchange is None:
            return None, "no secret key configured: read-only, nothing to prove"
        signer = str(c.exchange.wallet.address)
        account = c.address or signer
        role = self._call(lambda: c.info.user_role(signer), mutating=False) or {}
        kind, data = role.get("role"), role.get("data") or {}
        if signer.lower() == account.lower():
            if kind in ("user", "subAccount", "vault"):
                return True, f"the key's address {signer} is a {kind} account (userRole); no signed read exists"
            return False, f"the key's address {signer} has no account on this venue (userRole: {kind}): wrong key?"
        if kind == "agent" and str(data.get("user", "")).lower() == account.lower():
            return True, f"the key's address {signer} is an agent approved by {account} (userRole)"
        return False, (f"the key's address {signer} is not {account} nor an agent it approved "
                       f"(userRole: {kind}): wrong key or wrong account_address?")

    def _exchange(self) -> Any:
        ex = self._c().exchange
        if ex is None:
            raise RejectedError(f"{self.account}: no secret key configured; read-only",
                                venue=self.account, reason="no credentials")
        return ex

    def _user(self) -> str:
        address = self._c().address
        if not address:
            raise RejectedError(f"{self.account}: no account address configured",
                                venue=self.account, reason="no credentials")
        return address

    def _symbol(self, coin: str) -> str:
        for inst in self.instruments().values():
            if inst.venue_symbol == coin:
                return inst.symbol
        return coin

    def _dexes(self) -> list[str]:
        return ["", *self.config.dexes]

    # --- orders ------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> OrderReport:
        inst = self.instrument(req.instrument)
        price = req.price if req.order_type is OrderType.LIMIT else self._market_price(inst, req.side)
        if price is None:
            raise PrecisionError(f"{inst.symbol}: limit order without a price")
        precision.check_sendable(req.qty, price, inst, req.reduce_only)
        ex = self._exchange()
        self._ensure_leverage(inst, ex)
        from venues.hyperliquid.client import cloid

        cl = cloid(req.client_order_id)
        self._cid_by_cloid[str(cl)] = req.client_order_id
        tif = "Ioc" if req.order_type is OrderType.MARKET else TIF[req.tif]
        resp = self._call(lambda: ex.order(inst.venue_symbol, req.side is Side.BUY, float(req.qty), float(price),
                                           {"limit": {"tif": tif}}, reduce_only=req.reduce_only, cloid=cl),
                          mutating=True, cid=req.client_order_id, placing=True)
        err = action_error(resp, venue=self.account, what=f"order {req.client_order_id}", mutating=True,
                           client_order_id=req.client_order_id)
        if err is not None:
            raise err
        return self._ack(req, price, statuses(resp)[0])

    def _ack(self, req: OrderRequest, price: Decimal, status: Any) -> OrderReport:
        filled, avg, state = Decimal(0), None, OrderStatus.NEW
        if "resting" in status:
            oid = int(status["resting"]["oid"])
        elif "filled" in status:
            oid = int(status["filled"]["oid"])
            filled, avg = Decimal(str(status["filled"]["totalSz"])), Decimal(str(status["filled"]["avgPx"]))
            rests = req.order_type is OrderType.LIMIT and req.tif is not TimeInForce.IOC
            state = (OrderStatus.FILLED if filled >= req.qty
                     else OrderStatus.PARTIALLY_FILLED if rests else OrderStatus.CANCELLED)
        else:  # e.g. "waitingForFill" in grouped orders: accepted, state unknown yet
            oid = None
        if oid is not None:
            self._cid_by_oid[oid] = req.client_order_id
        return OrderReport(req.client_order_id, req.instrument, req.side, req.qty, state, filled, price, avg,
                           None if oid is None else str(oid))

    def _market_price(self, inst: Instrument, side: Side) -> Decimal:
        dex = inst.venue_symbol.split(":")[0] if ":" in inst.venue_symbol else ""
        mids = self._call(lambda: self._c().info.all_mids(dex), mutating=False)
        mid = Decimal(str(mids[inst.venue_symbol]))
        slip = self.config.market_slippage
        raw = mid * (1 + slip) if side is Side.BUY else mid * (1 - slip)
        return precision.round_price(raw, side, inst, passive=False)

    def _ensure_leverage(self, inst: Instrument, ex: Any) -> None:
        lev = self.config.leverage.get(inst.symbol)
        if lev is None or inst.symbol in self._leverage_set:
            return
        cross = inst.symbol not in self._c().isolated
        resp = self._call(lambda: ex.update_leverage(lev, inst.venue_symbol, is_cross=cross), mutating=False)
        err = action_error(resp, venue=self.account, what=f"leverage {lev}x on {inst.symbol}", mutating=False)
        if err is not None:
            raise err
        self._leverage_set.add(inst.symbol)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """Cancel by cloid, retried with exponential backoff (a repeated cancel is harmless).
        "Never placed, already canceled, or filled" is not an error: the lookup tells which."""
        inst = self.instrument(instrument)
        ex = self._exchange()
        from venues.hyperliquid.client import cloid

        def attempt() -> Any:
            return self._call(lambda: ex.cancel_by_cloid(inst.venue_symbol, cloid(client_order_id)),
                              mutating=True, cid=client_order_id)

        cfg = self.config
        resp = with_backoff(attempt, cfg.cancel_backoff, self._sleep)
        if isinstance(resp, dict) and resp.get("status") not in (None, "ok"):
            err = action_error(resp, venue=self.account, what=f"cancel {client_order_id}", mutating=False)
            assert err is not None
            raise err
        from venues.hyperliquid.client import spent_as
        from venues.ratelimit import Priority

        with spent_as(Priority.CANCEL):  # the cancel went out; its outcome is read at its priority
            return self.order(client_order_id, instrument)

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        from venues.hyperliquid.client import cloid

        c = self._c()
        cl = cloid(client_order_id)
        payload = self._call(lambda: c.info.query_order_by_cloid(self._user(), cl), mutating=False)
        rep = reports.order_report(payload, client_order_id, instrument, self._fills)
        if rep is not None and rep.venue_order_id:
            self._cid_by_oid[int(rep.venue_order_id)] = client_order_id
            if rep.filled_qty > 0 and rep.avg_fill_price is None:
                self.fills(None)  # learn the fills of this order, then report their average
                rep = reports.order_report(payload, client_order_id, instrument, self._fills)
        return rep

    def open_orders(self) -> list[OrderReport]:
        c, out = self._c(), []
        for dex in self._dexes():
            rows = self._call(lambda d=dex: c.info.frontend_open_orders(self._user(), d), mutating=False)
            for o in rows:
                cid = (precision.from_cloid(o.get("cloid"), self._cid_by_cloid)
                       or self._cid_by_oid.get(int(o["oid"])) or f"oid:{o['oid']}")
                out.append(reports.open_order_report(o, cid, self._symbol(o["coin"])))
        return out

    # --- fills, positions, balances ----------------------------------------------------
    def fills(self, cursor: str | None = None) -> FillPage:
        """Fills after ``cursor`` from ``userFillsByTime`` (at most 2000 a call), oldest first."""
        if self.feed is not None and not self.feed.fills_due(from_start=cursor is None):
            return FillPage([], cursor)  # the stream saw no fill: no request
        c = self._c()
        start, seen = reports.decode_cursor(cursor)
        rows = self._call(lambda: c.info.user_fills_by_time(self._user(), start), mutating=False)
        rows = sorted(rows, key=lambda f: (int(f["time"]), str(f.get("tid", ""))))
        out: list[tuple[int, FillReport]] = []
        for f in rows:
            rep = reports.fill_report(f, self._cid_for_oid(int(f["oid"]), f), self._symbol(f["coin"]))
            if int(f["time"]) == start and rep.fill_id in seen:
                continue
            self._fills.add(rep)
            out.append((int(f["time"]), rep))
        if not out:
            return FillPage([], cursor)
        last = out[-1][0]
        at_last = {rep.fill_id for ms, rep in out if ms == last} | (seen if last == start else set())
        return FillPage([rep for _, rep in out], reports.encode_cursor(last, at_last))

    def _cid_for_oid(self, oid: int, fill: Mapping[str, Any]) -> str | None:
        if oid in self._cid_by_oid:
            return self._cid_by_oid[oid]
        cid = precision.from_cloid(fill.get("cloid"), self._cid_by_cloid)
        if cid is None and oid not in self._no_cloid:  # ask the venue once which cloid it carried
            payload = self._call(lambda: self._c().info.query_order_by_oid(self._user(), oid), mutating=False)
            if isinstance(payload, dict) and payload.get("status") == "order":
                cid = precision.from_cloid(payload["order"]["order"].get("cloid"), self._cid_by_cloid)
        if cid is not None:
            self._cid_by_oid[oid] = cid
        else:
            self._no_cloid.add(oid)
        return cid

    def positions(self) -> list[PositionReport]:
        """Perp positions of every loaded dex, from ``clearinghouseState`` (spot holdings are
        balances)."""
        c, out = self._c(), []
        for dex in self._dexes():
            state = self._call(lambda d=dex: c.info.user_state(self._user(), d), mutating=False)
            for ap in state.get("assetPositions", []):
                p = ap["position"]
                qty = Decimal(str(p["szi"]))
                if qty != 0:
                    entry = p.get("entryPx")
                    out.append(PositionReport(self._symbol(p["coin"]), qty,
                                              Decimal(str(entry)) if entry is not None else None))
        return out

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """Funding paid or received, from the venue's ``userFunding`` records (``delta.usdc``:
        received > 0), oldest first."""
        start = int(since.timestamp() * 1000) + 1 if since is not None else 0
        rows = self._call(lambda: self._c().info.user_funding_history(self._user(), start), mutating=False)
        out = []
        for r in rows or []:
            d = r.get("delta") or {}
            if d.get("type") != "funding":
                continue
            out.append(CashflowReport(f"funding:{d['coin']}:{r['time']}", "funding", self._symbol(str(d["coin"])),
                                      Decimal(str(d["usdc"])), "USDC", datetime.fromtimestamp(r["time"] / 1000, UTC)))
        return sorted((c for c in out if since is None or c.ts > since), key=lambda c: (c.ts, c.record_id))

    def balances(self) -> list[BalanceReport]:
        c = self._c()
        state = self._call(lambda: c.info.user_state(self._user()), mutating=False)
        summary = state.get("marginSummary", {})
        out = [BalanceReport("USDC", Decimal(str(summary.get("accountValue", "0"))),
                             Decimal(str(state.get("withdrawable", "0"))))]
        if self.config.spot:
            spot = self._call(lambda: c.info.spot_user_state(self._user()), mutating=False)
            for b in spot.get("balances", []):
                total = Decimal(str(b["total"]))
                out.append(BalanceReport(f"spot:{b['coin']}", total, total - Decimal(str(b.get("hold", "0")))))
        return out

    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """The streamed ``l2Book`` while the stream is live, else ``l2Book`` by REST (weight 2)."""
        if self.feed is None:
            return self._rest_book(instrument, depth)
        snap = self.feed.book(instrument, depth, lambda: self._rest_book(instrument, depth))
        if "funding_rate" not in snap.extra:  # a streamed book: the perp's funding rides along as by REST
            inst = self.instrument(instrument)
            extra = self._funding_extra(inst) if inst.kind == "perp" else {}
            if extra:
                snap = dataclasses.replace(snap, extra={**snap.extra, **extra})
        return snap

    def stream_protocol(self) -> StreamProtocol:
        from venues.hyperliquid.stream import HyperliquidStream, ws_url

        c = self._c()
        return HyperliquidStream(self.config.ws_url or ws_url(self.base_url), coin=lambda s: self.instrument(s).venue_symbol,
                                 symbol=self._symbol, user=c.address)

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()

    def _rest_book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        inst = self.instrument(instrument)
        snap = self._call(lambda: self._c().info.l2_snapshot(inst.venue_symbol), mutating=False)
        bids, asks = snap["levels"]
        return BookSnapshot(
            instrument, float(snap.get("time", time.time() * 1000)) / 1000.0,
            [(float(lv["px"]), float(lv["sz"])) for lv in bids[:depth]],
            [(float(lv["px"]), float(lv["sz"])) for lv in asks[:depth]],
            extra=self._funding_extra(inst) if inst.kind == "perp" else {},
        )

    def _funding_extra(self, inst: Instrument) -> dict[str, float]:
        """The perp's current funding rate (per hour on Hyperliquid) from ``metaAndAssetCtxs``,
        read at most every ``FUNDING_CTX_S``; none when the venue does not say (never an error)."""
        now = time.time()
        if now - self._ctx_at >= FUNDING_CTX_S:
            try:
                meta, ctxs = self._call(lambda: self._c().info.meta_and_asset_ctxs(), mutating=False)
                self._funding = {str(a["name"]): float(c["funding"])
                                 for a, c in zip(meta["universe"], ctxs, strict=False) if c.get("funding") is not None}
            except (RejectedError, TransientError, KeyError, TypeError, ValueError):
                self._funding = {}
            self._ctx_at = now
        rate = self._funding.get(inst.venue_symbol)
        return {} if rate is None else {"funding_rate": rate, "funding_interval_s": FUNDING_INTERVAL_S}


    INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d")

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        """``candleSnapshot`` over the last ``limit + 1`` periods; none for an interval it lacks."""
        inst = self.instrument(instrument)
        interval = timeframe_label(timeframe_s)
        if interval not in self.INTERVALS or limit <= 0:
            return []
        now = time.time()
        end = int(now * 1000)
        start = end - (limit + 1) * timeframe_s * 1000
        rows = self._call(lambda: self._c().info.candles_snapshot(inst.venue_symbol, interval, start, end),
                          mutating=False)
        return closed((Candle(r["t"] / 1000.0, float(r["o"]), float(r["h"]), float(r["l"]), float(r["c"]),
                              float(r.get("v") or 0.0)) for r in rows or []), timeframe_s, now, limit)


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
