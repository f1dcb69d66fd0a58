"""The Alpaca adapter passes the shared venue contract: real alpaca-py, faked HTTP only."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from tests.kit.venue_contract import VenueContract
from tests.venues.fixtures.alpaca.fake import FakeAlpaca, alpaca_account
from venues.alpaca.adapter import AlpacaAdapter, create


class TestAlpacaCryptoContract(VenueContract):
    symbol = "BTC/USD"
    good_qty = Decimal("0.01")
    sub_lot_qty = Decimal("0.0000000004")  # below Alpaca's BTC/USD increment of 1e-9
    price = Decimal("63000")

    @pytest.fixture(autouse=True)
    def _alpaca(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake = FakeAlpaca(rsps)
            self.account = alpaca_account(monkeypatch)
            self._v: AlpacaAdapter | None = None
            yield

    def venue(self) -> AlpacaAdapter:
        if self._v is None:
            self._v = create(self.account)
            self._v.sleep = lambda s: None
            self._v.connect()
        return self._v

    def scenario_accept(self, cid: str) -> None:
        pass  # the fake rests every order it is sent

    def scenario_reject(self, cid: str) -> None:
        self.fake.reject_next()

    def scenario_server_error(self) -> None:
        self.fake.fault("/v2/orders", "503")

    def scenario_timeout_then_lookup(self, cid: str) -> None:
        self.fake.fault("/v2/orders", "timeout_after")

    def scenario_fills(self, cid: str, chunks: list[Decimal]) -> None:
        for chunk in chunks:
            self.fake.fill(cid, chunk)

    def scenario_sent_amount(self, cid: str) -> Decimal:
        return Decimal(self.fake.orders[cid]["qty"])

    def scenario_accept_then_server_error(self, cid: str) -> None:
        self.fake.fault("/v2/orders", "502_after")

    def scenario_accept_then_drop(self, cid: str) -> None:
        self.fake.fault("/v2/orders", "drop_after")

    def scenario_connect_refused(self) -> None:
        self.fake.fault("/v2/orders", "refused")

    def scenario_post_only_cross(self, cid: str) -> None:
        # Alpaca has no post-only flag: the adapter checks the touch; the ask fell through our bid
        self.fake.set_book(self.symbol, [(Decimal("62980"), Decimal("1"))], [(Decimal("62990"), Decimal("1"))])

    def scenario_book(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        self.fake.set_book(self.symbol, bids, asks)

    def scenario_cashflow(self) -> tuple[str, str, Decimal]:
        # the documented CFEE object: the fee taken from the bought BTC, valued at its price
        self.fake.cfees.append({"id": "20240506000000000::53be51ba-46f9-43de-b81f-576f241dc680",
                                "activity_type": "CFEE", "date": "2024-05-06", "net_amount": "0",
                                "description": "Coin Pair Transaction Fee (Non USD)", "symbol": "BTCUSD",
                                "qty": "-0.0000025", "price": "63500", "status": "executed"})
        return "fee", "BTC/USD", Decimal("-0.0000025") * 63500
