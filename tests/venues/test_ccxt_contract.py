"""The ccxt adapter on OKX passes the shared venue contract: real ccxt, faked HTTP only."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from tests.kit.venue_contract import VenueContract
from tests.venues.fixtures.okx.fake import FakeOkx, okx_account
from venues.ccxt.adapter import CcxtAdapter, create


class TestCcxtOkxContract(VenueContract):
    symbol = "BTC/USDT"
    good_qty = Decimal("0.01")
    sub_lot_qty = Decimal("0.000000004")  # below OKX's BTC-USDT lot of 1e-8
    price = Decimal("60000.1")
    post_only_cancelled_after_placement = True
    contract_symbol = "BTC/USDT:USDT"  # BTC-USDT-SWAP: ctVal 0.01 BTC, lotSz 0.01 contracts
    contract_value = Decimal("0.01")
    contract_qty = Decimal("0.03")
    contract_price = Decimal("61000.5")

    @pytest.fixture(autouse=True)
    def _okx(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake = FakeOkx(rsps)
            self.account = okx_account(monkeypatch)
            self._v: CcxtAdapter | None = None
            yield

    def venue(self) -> CcxtAdapter:
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
        self.fake.fault("batch-orders", "503")

    def scenario_timeout_then_lookup(self, cid: str) -> None:
        self.fake.fault("batch-orders", "timeout_after")

    def scenario_fills(self, cid: str, chunks: list[Decimal]) -> None:
        for chunk in chunks:
            self.fake.fill(cid, chunk)

    def scenario_sent_amount(self, cid: str) -> Decimal:
        return Decimal(self.fake.orders[cid]["sz"])

    def scenario_accept_then_server_error(self, cid: str) -> None:
        self.fake.fault("batch-orders", "502_after")

    def scenario_accept_then_drop(self, cid: str) -> None:
        self.fake.fault("batch-orders", "drop_after")

    def scenario_connect_refused(self) -> None:
        self.fake.fault("batch-orders", "refused")

    def scenario_post_only_cross(self, cid: str) -> None:
        self.fake.post_only_crosses = True

    def scenario_book(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        self.fake.set_book(bids, asks)

    def scenario_cashflow(self) -> tuple[str, str, Decimal]:
        # an OKX bill of type 8 (funding fee), the shape ccxt documents for fetch_funding_history
        self.fake.bills.append({"bal": "9851.1", "balChg": "0.6125", "billId": "377970609204146187", "ccy": "USDT",
                                "execType": "", "fee": "0", "from": "", "instId": "BTC-USDT-SWAP", "instType": "SWAP",
                                "mgnMode": "cross", "notes": "", "ordId": "", "pnl": "0.6125", "posBal": "0",
                                "posBalChg": "0", "subType": "174", "sz": "1", "to": "", "ts": "1700000000000",
                                "type": "8"})
        return "funding", "BTC/USDT:USDT", Decimal("0.6125")
