"""The Kalshi adapter passes the shared venue contract: real httpx client and signing, only
HTTP faked with respx (see ``test_kalshi_fake``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from tests.kit.venue_contract import VenueContract
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import key_file, rsa_key  # noqa: F401 - pytest fixtures
from venues.base import OrderRequest, OrderType, Side, TimeInForce
from venues.kalshi.adapter import KalshiAdapter


class TestKalshiContract(VenueContract):
    symbol = f"{fake.TICKER}:yes"
    good_qty = Decimal(4)
    sub_lot_qty = Decimal("0.4")
    price = Decimal(42)  # cents

    @pytest.fixture(autouse=True)
    def _http(self, key_file: Path) -> Iterator[None]:  # noqa: F811
        with respx.mock(assert_all_called=False) as router:
            self.k = fake.FakeKalshi(router)
            self.key_file = key_file
            yield

    def venue(self) -> KalshiAdapter:
        if not hasattr(self, "_v"):
            self._v = fake.make_adapter(self.key_file)
        return self._v

    def scenario_accept(self, cid: str) -> None:
        pass  # the fake accepts by default

    def scenario_reject(self, cid: str) -> None:
        self.k.create_queue.append(httpx.Response(400, json=fake.fixture("error_insufficient_balance")))

    def scenario_server_error(self) -> None:
        self.k.create_queue.append(httpx.Response(503, text="upstream unavailable"))

    def scenario_timeout_then_lookup(self, cid: str) -> None:
        def accept_then_time_out(request: httpx.Request) -> httpx.Response:
            self.k.store(json.loads(request.content))
            raise httpx.ReadTimeout("timed out", request=request)

        self.k.create_queue.append(accept_then_time_out)

    def scenario_fills(self, cid: str, chunks: list[Decimal]) -> None:
        self.k.fill(cid, chunks)

    def scenario_binary_pair(self, qty: Decimal) -> str | None:
        self.k.live_positions = True  # /portfolio/positions from the fills, netted as Kalshi does
        v = self.venue()
        for cid, leg in (("c0ffee90", "yes"), ("c0ffee91", "no")):
            v.submit(v.prepare(OrderRequest(cid, f"{fake.TICKER}:{leg}", Side.BUY, qty, OrderType.LIMIT,
                                            Decimal(45), TimeInForce.GTC)))
            self.k.fill(cid, [qty])
        return fake.TICKER

    def scenario_sent_amount(self, cid: str) -> Decimal:
        return Decimal(self.k.by_cid(cid)["initial_count_fp"])

    def scenario_accept_then_server_error(self, cid: str) -> None:
        self.k.accept_then(httpx.Response(502, text="<html>502 Bad Gateway</html>"))

    def scenario_accept_then_drop(self, cid: str) -> None:
        self.k.accept_then(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    def scenario_connect_refused(self) -> None:
        self.k.create_queue.append(httpx.ConnectError("[Errno 111] Connection refused"))

    def scenario_post_only_cross(self, cid: str) -> None:
        # the documented body (docs.kalshi.com, Order Errors): the details say what it was
        self.k.create_queue.append(httpx.Response(400, json={"error": {
            "code": "invalid_order", "message": "invalid order", "details": "post only cross"}}))

    def scenario_book(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        # YES bids are ours; an ask for YES at p is a NO bid at 100 - p
        self.k.set_book(bids, [(100 - px, n) for px, n in asks])

    def scenario_cashflow(self) -> tuple[str, str, Decimal]:
        # fixtures/kalshi/settlements.json: NO 7 paid 700c, fee 34c
        return "settlement", "KXFED-25OCT-T4.25", Decimal(700 - 34)

    def scenario_settlement(self) -> tuple[str, str, Decimal, Decimal, Decimal, Decimal] | None:
        # fixtures/kalshi/settlements.json: NO 7 of KXFED-25OCT-T4.25 paid 700c, fee 34c
        return "KXFED-25OCT-T4.25", "no", Decimal(0), Decimal(7), Decimal(700), Decimal(34)
