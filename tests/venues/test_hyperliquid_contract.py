"""The Hyperliquid adapter passes the shared venue contract, the real SDK in the loop and only
HTTP faked (see ``test_hyperliquid_fake``)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from tests.kit.venue_contract import VenueContract
from tests.venues import test_hyperliquid_fake as fake
from venues.hyperliquid.adapter import HyperliquidAdapter
from venues.hyperliquid.precision import to_cloid


class TestHyperliquidContract(VenueContract):
    symbol = "ETH"  # szDecimals 4: lot 0.0001
    good_qty = Decimal("0.0400")
    sub_lot_qty = Decimal("0.00004")
    price = Decimal("1800.5")  # 0.04 * 1800.5 = $72, above the $10 minimum
    waives_close_minimum = True  # "$10 minimum" is waived for a reduce-only full close

    @pytest.fixture(autouse=True)
    def _http(self) -> Iterator[None]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.hl = fake.FakeHyperliquid(rsps)
            yield

    def venue(self) -> HyperliquidAdapter:
        if not hasattr(self, "_v"):
            self._v = fake.make_adapter()
        return self._v

    def scenario_accept(self, cid: str) -> None:
        self.hl.accept_next()

    def scenario_reject(self, cid: str) -> None:
        self.hl.reject_next()

    def scenario_server_error(self) -> None:
        self.hl.fail_next((502, "<html>502 Bad Gateway</html>", {}))

    def scenario_timeout_then_lookup(self, cid: str) -> None:
        self.hl.accept_then_time_out()

    def scenario_fills(self, cid: str, chunks: list[Decimal]) -> None:
        self.hl.fill(to_cloid(cid), chunks)

    def scenario_sent_amount(self, cid: str) -> Decimal:
        return Decimal(self.hl.orders[to_cloid(cid)]["order"]["order"]["origSz"])

    def scenario_accept_then_server_error(self, cid: str) -> None:
        self.hl.accept_then((502, "<html>502 Bad Gateway</html>", {}))

    def scenario_accept_then_drop(self, cid: str) -> None:
        self.hl.accept_then(fake.dropped_connection())

    def scenario_connect_refused(self) -> None:
        self.hl.fail_next(fake.connect_refused("https://api.hyperliquid-testnet.xyz/exchange"))

    def scenario_post_only_cross(self, cid: str) -> None:
        self.hl.fail_next(fake.post_only_cross())

    def scenario_book(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        self.hl.set_book(self.symbol, bids, asks)

    def scenario_cashflow(self) -> tuple[str, str, Decimal]:
        # the userFunding record shape of the SDK's recorded cassette
        self.hl.info["userFunding"] = [{
            "delta": {"coin": "ETH", "fundingRate": "0.0000125", "nSamples": None, "szi": "-0.04",
                      "type": "funding", "usdc": "0.0009"},
            "hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "time": 1700000000000}]
        return "funding", "ETH", Decimal("0.0009")
