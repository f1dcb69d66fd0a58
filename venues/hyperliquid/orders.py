"""Orders on Hyperliquid: place, cancel, look up, list open ones; and which of our client ids
an order of the venue's is. Orders carry our client id as cloid, so a lookup after a timeout
finds them; an ``{"status": "ok"}`` answer whose statuses hold an ``error`` is a rejection,
never a success. The client ids learned here are what the fills of the account are keyed by."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from runner.errors import PrecisionError
from venues.base import Instrument, OrderReport, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.hyperliquid import precision, reports
from venues.hyperliquid.errors import action_error, statuses
from venues.hyperliquid.link import HyperliquidLink
from venues.retry import with_backoff

TIF = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}


class HyperliquidOrders:
    """``instrument``: the adapter's lookup by our symbol; ``learn_fills``: read the account's
    fills (the adapter's paced read), so an order filled without an average price gets one."""

    def __init__(self, link: HyperliquidLink, instrument: Callable[[str], Instrument],
                 learn_fills: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> None:
        self.link = link
        self.instrument = instrument
        self.learn_fills = learn_fills
        self.sleep = sleep
        self.cid_by_cloid: dict[str, str] = {}
        self.cid_by_oid: dict[int, str] = {}
        self.fill_book = reports.FillBook()
        self.leverage_set: set[str] = set()
        self.no_cloid: set[int] = set()  # orders placed without a cloid (asked once)

    def submit(self, req: OrderRequest) -> OrderReport:
        inst = self.instrument(req.instrument)
        price = req.price if req.order_type is OrderType.LIMIT else self._market_price(inst, req.side)
        if price is None:
            raise PrecisionError(f"{inst.symbol}: limit order without a price")
        precision.check_sendable(req.qty, price, inst, req.reduce_only)
        ex = self.link.exchange()
        self._ensure_leverage(inst, ex)
        from venues.hyperliquid.client import cloid

        cl = cloid(req.client_order_id)
        self.cid_by_cloid[str(cl)] = req.client_order_id
        tif = "Ioc" if req.order_type is OrderType.MARKET else TIF[req.tif]
        resp = self.link.call(lambda: ex.order(inst.venue_symbol, req.side is Side.BUY, float(req.qty), float(price),
                                               {"limit": {"tif": tif}}, reduce_only=req.reduce_only, cloid=cl),
                              mutating=True, cid=req.client_order_id, placing=True)
        err = action_error(resp, venue=self.link.account, what=f"order {req.client_order_id}", mutating=True,
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
            self.cid_by_oid[oid] = req.client_order_id
        return OrderReport(req.client_order_id, req.instrument, req.side, req.qty, state, filled, price, avg,
                           None if oid is None else str(oid))

    def _market_price(self, inst: Instrument, side: Side) -> Decimal:
        dex = inst.venue_symbol.split(":")[0] if ":" in inst.venue_symbol else ""
        mids = self.link.call(lambda: self.link.c().info.all_mids(dex), mutating=False)
        mid = Decimal(str(mids[inst.venue_symbol]))
        slip = self.link.config.market_slippage
        raw = mid * (1 + slip) if side is Side.BUY else mid * (1 - slip)
        return precision.round_price(raw, side, inst, passive=False)

    def _ensure_leverage(self, inst: Instrument, ex: Any) -> None:
        lev = self.link.config.leverage.get(inst.symbol)
        if lev is None or inst.symbol in self.leverage_set:
            return
        cross = inst.symbol not in self.link.c().isolated
        resp = self.link.call(lambda: ex.update_leverage(lev, inst.venue_symbol, is_cross=cross), mutating=False)
        err = action_error(resp, venue=self.link.account, what=f"leverage {lev}x on {inst.symbol}", mutating=False)
        if err is not None:
            raise err
        self.leverage_set.add(inst.symbol)

    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """Cancel by cloid, retried with exponential backoff (a repeated cancel is harmless).
        "Never placed, already canceled, or filled" is not an error: the lookup tells which."""
        inst = self.instrument(instrument)
        ex = self.link.exchange()
        from venues.hyperliquid.client import cloid

        def attempt() -> Any:
            return self.link.call(lambda: ex.cancel_by_cloid(inst.venue_symbol, cloid(client_order_id)),
                                  mutating=True, cid=client_order_id)

        cfg = self.link.config
        resp = with_backoff(attempt, cfg.cancel_backoff, self.sleep)
        if isinstance(resp, dict) and resp.get("status") not in (None, "ok"):
            err = action_error(resp, venue=self.link.account, what=f"cancel {client_order_id}", mutating=False)
            assert err is not None
            raise err
        from venues.hyperliquid.client import spent_as
        from venues.ratelimit import Priority

        with spent_as(Priority.CANCEL):  # the cancel went out; its outcome is read at its priority
            return self.order(client_order_id, instrument)

    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        from venues.hyperliquid.client import cloid

        c = self.link.c()
        cl = cloid(client_order_id)
        payload = self.link.call(lambda: c.info.query_order_by_cloid(self.link.user(), cl), mutating=False)
        rep = reports.order_report(payload, client_order_id, instrument, self.fill_book)
        if rep is not None and rep.venue_order_id:
            self.cid_by_oid[int(rep.venue_order_id)] = client_order_id
            if rep.filled_qty > 0 and rep.avg_fill_price is None:
                self.learn_fills()  # learn the fills of this order, then report their average
                rep = reports.order_report(payload, client_order_id, instrument, self.fill_book)
        return rep

    def open_orders(self) -> list[OrderReport]:
        c, out = self.link.c(), []
        for dex in self.link.dexes():
            rows = self.link.call(lambda d=dex: c.info.frontend_open_orders(self.link.user(), d), mutating=False)
            for o in rows:
                cid = (precision.from_cloid(o.get("cloid"), self.cid_by_cloid)
                       or self.cid_by_oid.get(int(o["oid"])) or f"oid:{o['oid']}")
                out.append(reports.open_order_report(o, cid, self.link.symbol(o["coin"])))
        return out

    def cid_for_oid(self, oid: int, fill: Mapping[str, Any]) -> str | None:
        """Our client id of the venue's order ``oid`` (a fill's), learned from our own orders,
        the fill's cloid, or (once per order) the venue's record of the order."""
        if oid in self.cid_by_oid:
            return self.cid_by_oid[oid]
        cid = precision.from_cloid(fill.get("cloid"), self.cid_by_cloid)
        if cid is None and oid not in self.no_cloid:  # ask the venue once which cloid it carried
            payload = self.link.call(lambda: self.link.c().info.query_order_by_oid(self.link.user(), oid),
                                     mutating=False)
            if isinstance(payload, dict) and payload.get("status") == "order":
                cid = precision.from_cloid(payload["order"]["order"].get("cloid"), self.cid_by_cloid)
        if cid is not None:
            self.cid_by_oid[oid] = cid
        else:
            self.no_cloid.add(oid)
        return cid
