"""A fake Hyperliquid HTTP layer (``responses``) shared by the Hyperliquid test modules.

Only HTTP is faked: the real SDK builds, signs and posts every request. The fake answers
``/info`` by request type and ``/exchange`` from a queue of scripted answers; accepted orders
are remembered from the signed order wire, so ``orderStatus`` by cloid finds them. Payloads
come from ``fixtures/hyperliquid`` (shaped like the documented answers). This module holds no
tests; it is named ``test_*`` only to live beside the modules that use it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from tests.kit.http_faults import connect_refused, dropped_connection  # noqa: F401 - re-exported
from venues.hyperliquid.adapter import HyperliquidAdapter
from venues.hyperliquid.config import TESTNET_URL, HyperliquidConfig

FIXTURES = Path(__file__).parent / "fixtures" / "hyperliquid"
# A throwaway key (the well-known example key of the eth-account docs): signs, never funds.
TEST_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
ASSETS = {0: "BTC", 1: "ETH", 2: "SOL", 3: "kPEPE", 4: "OLD", 110000: "xyz:TSLA"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


Reply = Any  # a JSON-able payload, an Exception to raise, or (status, payload, headers)


class FakeHyperliquid:
    def __init__(self, rsps: responses.RequestsMock, base: str = TESTNET_URL) -> None:
        self.info: dict[str, Any] = {
            "meta": fixture("meta"), "spotMeta": fixture("spot_meta"), "perpDexs": fixture("perp_dexs"),
            "clearinghouseState": fixture("clearinghouse_state_empty"),
            "spotClearinghouseState": fixture("spot_clearinghouse_state"),
            "frontendOpenOrders": [], "l2Book": fixture("l2_book"), "allMids": fixture("all_mids"), "userFunding": [],
        }
        self.info_queue: dict[str, list[Reply]] = {}
        self.exchange_queue: list[Reply | Callable[[dict[str, Any]], Reply]] = []
        self.orders: dict[str, dict[str, Any]] = {}  # cloid -> orderStatus payload
        self.fills: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._next_oid = 77738308
        self._next_tid = 118906512037719
        rsps.add_callback(responses.POST, f"{base}/info", callback=self._on_info)
        rsps.add_callback(responses.POST, f"{base}/exchange", callback=self._on_exchange)

    # --- scripting -------------------------------------------------------------------
    def accept_next(self) -> None:
        """The next order rests: answer ``resting`` and remember it for ``orderStatus``."""
        self.exchange_queue.append(lambda body: self._rest(body))

    def reject_next(self, name: str = "exchange_order_error") -> None:
        self.exchange_queue.append(fixture(name))

    def fail_next(self, reply: Reply) -> None:
        self.exchange_queue.append(reply)

    def accept_then_time_out(self) -> None:
        def reply(body: dict[str, Any]) -> Reply:
            self._rest(body)
            return requests.exceptions.ReadTimeout("read timed out")

        self.exchange_queue.append(reply)

    def accept_then(self, failure: Reply) -> None:
        """The next order is taken (and findable by cloid), then the answer is ``failure``:
        an exception to raise (a dropped connection) or a (status, body, headers) reply."""
        def reply(body: dict[str, Any]) -> Reply:
            self._rest(body)
            return failure

        self.exchange_queue.append(reply)

    def set_book(self, coin: str, bids: list[tuple[Any, Any]], asks: list[tuple[Any, Any]]) -> None:
        """``l2Book`` as the venue answers it (a settled or thin market may have empty sides)."""
        self.info["l2Book"] = {"coin": coin, "time": 1700000003000, "levels": [
            [{"n": 1, "px": str(px), "sz": str(sz)} for px, sz in bids],
            [{"n": 1, "px": str(px), "sz": str(sz)} for px, sz in asks]]}

    def fill(self, cloid: str, chunks: list[Decimal], *, crossed: bool = False, t0: int = 1700000001000) -> None:
        """The resting order ``cloid`` fills in ``chunks`` (maker fills at its limit price)."""
        order = self.orders[cloid]["order"]["order"]
        left = Decimal(order["sz"])
        for i, chunk in enumerate(chunks):
            f = fixture("user_fill")
            f.update(coin=order["coin"], oid=order["oid"], px=order["limitPx"], side=order["side"],
                     sz=str(chunk), crossed=crossed, tid=self._next_tid, time=t0 + i * 1000,
                     startPosition=str(Decimal(order["origSz"]) - left))
            self._next_tid += 1
            left -= chunk
            self.fills.append(f)
        order["sz"] = str(left)
        if left == 0:
            self.orders[cloid]["order"]["status"] = "filled"

    # --- handlers --------------------------------------------------------------------
    def _rest(self, body: dict[str, Any]) -> Reply:
        wire = body["action"]["orders"][0]
        oid = self._next_oid
        self._next_oid += 1
        status = fixture("order_status_open")
        o = status["order"]["order"]
        o.update(coin=ASSETS[wire["a"]], side="B" if wire["b"] else "A", limitPx=wire["p"], sz=wire["s"],
                 origSz=wire["s"], oid=oid, cloid=wire.get("c"),
                 tif=wire["t"]["limit"]["tif"], reduceOnly=wire["r"])
        self.orders[wire["c"]] = status
        ack = fixture("exchange_order_resting")
        ack["response"]["data"]["statuses"][0]["resting"]["oid"] = oid
        return ack

    def _on_info(self, request: requests.PreparedRequest) -> Any:
        body = json.loads(request.body or "{}")
        self.requests.append(("info", body))
        kind = body["type"]
        if self.info_queue.get(kind):
            return self._reply(self.info_queue[kind].pop(0))
        if kind == "meta" and body.get("dex"):
            return self._reply(fixture(f"meta_{body['dex']}"))
        if kind == "orderStatus":
            oid = body["oid"]
            found = self.orders.get(oid) if isinstance(oid, str) else next(
                (s for s in self.orders.values() if s["order"]["order"]["oid"] == oid), None)
            return self._reply(copy.deepcopy(found) if found else fixture("order_status_unknown"))
        if kind in ("userFills", "userFillsByTime"):
            start = body.get("startTime") or 0
            return self._reply([f for f in self.fills if f["time"] >= start])
        return self._reply(copy.deepcopy(self.info[kind]))

    def _on_exchange(self, request: requests.PreparedRequest) -> Any:
        body = json.loads(request.body or "{}")
        self.requests.append(("exchange", body))
        item = self.exchange_queue.pop(0) if self.exchange_queue else fixture("exchange_cancel_success")
        if callable(item):
            item = item(body)
        return self._reply(item)

    @staticmethod
    def _reply(item: Reply) -> Any:
        if isinstance(item, Exception):
            return item
        if isinstance(item, tuple):
            status, payload, headers = item
            text = payload if isinstance(payload, str) else json.dumps(payload)
            return status, headers, text
        return 200, {"Content-Type": "application/json"}, json.dumps(item)

    def exchange_actions(self) -> list[dict[str, Any]]:
        return [body["action"] for where, body in self.requests if where == "exchange"]


def post_only_cross(bbo: str = "1800.4@1800.6", asset: int = 1) -> dict[str, Any]:
    """The documented ``BadAloPx`` answer, inside the ``{"status": "ok"}`` envelope."""
    text = f"Post only order would have immediately matched, bbo was {bbo}. asset={asset}"
    return {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"error": text}]}}}


def make_adapter(config: HyperliquidConfig | None = None, sleep: Callable[[float], None] | None = None,
                 connect: bool = True) -> HyperliquidAdapter:
    cfg = config or HyperliquidConfig()
    v = HyperliquidAdapter("hl-test", cfg, cfg.base_url(None), secret_key=TEST_KEY, account_address=ADDRESS,
                           sleep=sleep or (lambda s: None))
    if connect:
        v.connect()
    return v


@contextmanager
def stand_in(monkeypatch: pytest.MonkeyPatch, cls: type[FakeHyperliquid] | None = None) -> Iterator[FakeHyperliquid]:
    """A Hyperliquid stand-in (``cls``, default FakeHyperliquid) behind the real SDK's HTTP
    transport, with the account's key and address in the environment (``HL_K``/``HL_A``)."""
    monkeypatch.setenv("HL_K", TEST_KEY)
    monkeypatch.setenv("HL_A", ADDRESS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield (cls or FakeHyperliquid)(rsps)
