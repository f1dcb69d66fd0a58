"""A fake Kalshi trade-api v2 (``respx``) shared by the Kalshi test modules.

Only HTTP is faked: the adapter's real httpx client signs and sends every request. The fake
keeps orders created through it (so list/lookup/cancel see them), pages lists by ``limit`` and
``cursor`` like Kalshi, and answers the next create/cancel from a script when one is queued.
Payloads come from ``fixtures/kalshi``. No tests here; the ``test_`` name only keeps it beside
the modules that use it.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from venues.kalshi.adapter import KalshiAdapter
from venues.kalshi.config import DEMO_URL, KalshiConfig

FIXTURES = Path(__file__).parent / "fixtures" / "kalshi"
TICKER = "KXFED-25DEC-T4.00"
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "kalshi.pem"
    path.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    path.chmod(0o600)
    return path


Reply = Any  # httpx.Response, an exception, or a callable(request) -> Response


class FakeKalshi:
    def __init__(self, router: respx.MockRouter, base: str = DEMO_URL) -> None:
        self.base = base
        self.orders: dict[str, dict[str, Any]] = {}  # order_id -> Order
        self.fills: list[dict[str, Any]] = []
        self.markets = {TICKER: fixture("market")["market"]}
        self.create_queue: list[Reply] = []
        self.orderbook: dict[str, Any] = fixture("orderbook_fp")
        self.cancel_queue: list[Reply] = []
        self.read_faults: list[httpx.Response] = []  # answers to the next GETs, whatever they ask
        self.take_iocs = False  # an immediate_or_cancel order fills whole at once (a deep book)
        self.live_positions = False  # positions from the fills, netted as Kalshi nets YES and NO
        self.settlements: list[dict[str, Any]] = fixture("settlements")["settlements"]
        self._settled_tickers: set[str] = set()
        self.calls: list[httpx.Request] = []
        self._ids = itertools.count(1)
        b = base.replace(".", r"\.")
        route = router.route
        route(method="GET", url__regex=rf"{b}/markets/(?P<ticker>[^/?]+)/orderbook").mock(
            side_effect=self._log(lambda r, ticker: httpx.Response(200, json=self.orderbook)))
        route(method="GET", url__regex=rf"{b}/markets/(?P<ticker>[^/?]+)(\?.*)?$").mock(
            side_effect=self._log(self._market))
        route(method="GET", url__regex=rf"{b}/markets(\?.*)?$").mock(
            side_effect=self._log(lambda r: self._page(r, "markets", list(self.markets.values()))))
        route(method="POST", url__regex=rf"{b}/portfolio/orders$").mock(side_effect=self._log(self._create))
        route(method="GET", url__regex=rf"{b}/portfolio/orders/(?P<oid>[^/?]+)$").mock(
            side_effect=self._log(self._get_order))
        route(method="DELETE", url__regex=rf"{b}/portfolio/orders/(?P<oid>[^/?]+)$").mock(
            side_effect=self._log(self._cancel))
        route(method="GET", url__regex=rf"{b}/portfolio/orders(\?.*)?$").mock(side_effect=self._log(self._list))
        route(method="GET", url__regex=rf"{b}/portfolio/fills(\?.*)?$").mock(side_effect=self._log(self._fills))
        route(method="GET", url__regex=rf"{b}/portfolio/positions(\?.*)?$").mock(
            side_effect=self._log(self._positions))
        route(method="GET", url__regex=rf"{b}/portfolio/balance$").mock(
            side_effect=self._log(lambda r: httpx.Response(200, json=fixture("balance"))))
        route(method="GET", url__regex=rf"{b}/portfolio/settlements(\?.*)?$").mock(
            side_effect=self._log(lambda r: self._page(r, "settlements", [
                s for s in self.settlements if r.url.params.get("ticker") in (None, s["ticker"])])))

    # --- scripting -------------------------------------------------------------------
    def store(self, body: dict[str, Any], status: str = "resting") -> dict[str, Any]:
        """Create an order the way Kalshi would from a create-order body."""
        o = fixture("order")["order"]
        side = body["side"]
        price = Decimal(body[f"{side}_price"]) / 100
        n = f"{body['count']}.00"
        o.update(order_id=f"ord-{next(self._ids):04d}", client_order_id=body["client_order_id"],
                 ticker=body["ticker"], side=side, action=body["action"], status=status,
                 yes_price_dollars=f"{price if side == 'yes' else 1 - price:.4f}",
                 no_price_dollars=f"{price if side == 'no' else 1 - price:.4f}",
                 initial_count_fp=n, remaining_count_fp=n)
        self.orders[o["order_id"]] = o
        return o

    def accept_then(self, failure: Exception | httpx.Response) -> None:
        """The next order is taken (findable by client id), then ``failure`` comes back."""
        def reply(request: httpx.Request) -> httpx.Response:
            self.store(json.loads(request.content))
            if isinstance(failure, Exception):
                raise failure
            return failure

        self.create_queue.append(reply)

    def set_book(self, yes: list[tuple[Any, Any]], no: list[tuple[Any, Any]]) -> None:
        """The documented ``orderbook_fp`` shape: bids only, per side, in dollars."""
        def rows(levels: list[tuple[Any, Any]]) -> list[list[str]]:
            return [[f"{Decimal(px) / 100:.4f}", f"{Decimal(n):.2f}"] for px, n in levels]

        self.orderbook = {"orderbook_fp": {"yes_dollars": rows(yes), "no_dollars": rows(no)}}

    def by_cid(self, cid: str) -> dict[str, Any]:
        return next(o for o in self.orders.values() if o["client_order_id"] == cid)

    def fill(self, cid: str, chunks: list[Decimal], t0: int = 1763651100) -> None:
        o = self.by_cid(cid)
        for i, chunk in enumerate(chunks):
            f = fixture("fill")
            fid = f"fill-{len(self.fills) + 1:04d}"
            f.update(fill_id=fid, trade_id=fid, order_id=o["order_id"], ticker=o["ticker"],
                     market_ticker=o["ticker"], side=o["side"], action=o["action"], count_fp=f"{chunk:.2f}",
                     yes_price_dollars=o["yes_price_dollars"], no_price_dollars=o["no_price_dollars"],
                     created_time=datetime.fromtimestamp(t0 + i, UTC).isoformat().replace("+00:00", "Z"),
                     ts=t0 + i)
            self.fills.append(f)
            done = Decimal(o["fill_count_fp"]) + chunk
            o["fill_count_fp"] = f"{done:.2f}"
            o["remaining_count_fp"] = f"{Decimal(o['initial_count_fp']) - done:.2f}"
            cost = Decimal(o["maker_fill_cost_dollars"]) + chunk * Decimal(o[f"{o['side']}_price_dollars"])
            o["maker_fill_cost_dollars"] = f"{cost:.4f}"
            if Decimal(o["remaining_count_fp"]) == 0:
                o["status"] = "executed"

    # --- handlers --------------------------------------------------------------------
    def _log(self, fn: Callable[..., httpx.Response]) -> Callable[..., Any]:
        def handler(request: httpx.Request, **kw: str) -> Any:
            self.calls.append(request)
            if request.method == "GET" and self.read_faults:
                return self.read_faults.pop(0)
            return fn(request, **kw)
        return handler

    def _market(self, request: httpx.Request, ticker: str) -> httpx.Response:
        if ticker not in self.markets:
            return httpx.Response(404, json={"code": "not_found", "message": "market not found"})
        return httpx.Response(200, json={"market": self.markets[ticker]})

    def _page(self, request: httpx.Request, key: str, items: list[dict[str, Any]]) -> httpx.Response:
        limit = int(request.url.params.get("limit", 100))
        start = int(request.url.params.get("cursor") or 0)
        chunk = items[start:start + limit]
        cursor = str(start + limit) if start + limit < len(items) else ""
        return httpx.Response(200, json={key: copy.deepcopy(chunk), "cursor": cursor})

    def _create(self, request: httpx.Request) -> Any:
        body = json.loads(request.content)
        if self.create_queue:
            reply = self.create_queue.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply(request) if callable(reply) else reply
        if any(o["client_order_id"] == body["client_order_id"] for o in self.orders.values()):
            return httpx.Response(409, json=fixture("error_conflict"))
        order = self.store(body)
        if self.take_iocs and body.get("time_in_force") == "immediate_or_cancel":
            self.fill(body["client_order_id"], [Decimal(body["count"])], t0=1763651100 + len(self.fills))
        return httpx.Response(201, json={"order": order})

    def settle(self, ticker: str, result: str, when: str = "2025-12-17T15:00:05Z") -> None:
        """The market settles: its book empties; a settlement record of what we held appears."""
        yes = sum(Decimal(f["count_fp"]) * (1 if f["action"] == "buy" else -1)
                  for f in self.fills if f["ticker"] == ticker and f["side"] == "yes")
        no = sum(Decimal(f["count_fp"]) * (1 if f["action"] == "buy" else -1)
                 for f in self.fills if f["ticker"] == ticker and f["side"] == "no")
        net = yes - no  # what Kalshi still holds after netting
        self.orderbook = {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}
        self.settlements.insert(0, {
            "ticker": ticker, "event_ticker": ticker.rsplit("-", 1)[0], "market_result": result,
            "yes_count_fp": f"{max(net, 0):.2f}", "no_count_fp": f"{max(-net, 0):.2f}",
            "revenue": int(100 * (max(net, 0) if result == "yes" else max(-net, 0))),
            "settled_time": when, "fee_cost": "0.0000", "value": 0})
        self._settled_tickers.add(ticker)

    def _positions(self, request: httpx.Request) -> httpx.Response:
        if not self.live_positions:
            return httpx.Response(200, json=fixture("positions"))
        net: dict[str, Decimal] = {}
        for f in self.fills:
            if f["ticker"] in self._settled_tickers:
                continue
            sign = (1 if f["action"] == "buy" else -1) * (1 if f["side"] == "yes" else -1)
            net[f["ticker"]] = net.get(f["ticker"], Decimal(0)) + sign * Decimal(f["count_fp"])
        rows = [{"ticker": t, "position_fp": f"{q:.2f}", "market_exposure_dollars": "0.0000"}
                for t, q in net.items() if q]
        return httpx.Response(200, json={"market_positions": rows, "event_positions": [], "cursor": ""})

    def _get_order(self, request: httpx.Request, oid: str) -> httpx.Response:
        if oid not in self.orders:
            return httpx.Response(404, json={"code": "not_found", "message": "order not found"})
        return httpx.Response(200, json={"order": self.orders[oid]})

    def _cancel(self, request: httpx.Request, oid: str) -> Any:
        if self.cancel_queue:
            reply = self.cancel_queue.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        if oid not in self.orders:
            return httpx.Response(404, json={"code": "not_found", "message": "order not found"})
        o = self.orders[oid]
        reduced = o["remaining_count_fp"]
        o.update(status="canceled", remaining_count_fp="0.00")
        return httpx.Response(200, json={"order": o, "reduced_by_fp": reduced})

    def _list(self, request: httpx.Request) -> httpx.Response:
        p = request.url.params
        rows = [o for o in self.orders.values()
                if (not p.get("ticker") or o["ticker"] == p["ticker"]) and (not p.get("status") or o["status"] == p["status"])]
        return self._page(request, "orders", rows)

    def _fills(self, request: httpx.Request) -> httpx.Response:
        min_ts = int(request.url.params.get("min_ts") or 0)
        rows = sorted((f for f in self.fills if f["ts"] >= min_ts), key=lambda f: f["ts"], reverse=True)
        return self._page(request, "fills", rows)  # newest first, like Kalshi


def make_adapter(key_file: Path | None, config: KalshiConfig | None = None, *,
                 sleep: Callable[[float], None] | None = None, url: str | None = None,
                 clock: Callable[[], float] | None = None) -> KalshiAdapter:
    cfg = config or KalshiConfig(tickers=(TICKER,), page_limit=2)
    v = KalshiAdapter("kalshi-test", cfg, cfg.base_url(url), key_id=KEY_ID if key_file else None,
                      private_key_path=str(key_file) if key_file else None, sleep=sleep or (lambda s: None),
                      clock=clock or (lambda: 1763651000.0))
    v.connect()
    return v
