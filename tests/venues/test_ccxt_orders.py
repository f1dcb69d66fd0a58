"""ccxt/OKX orders: precision from OKX's instrument rules, what goes on the wire, error classes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from runner.errors import AmbiguousError, PrecisionError, RejectedError, TransientError
from tests.venues.fixtures.okx.fake import FakeOkx, okx_account
from venues.base import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.ccxt.adapter import CcxtAdapter, create

D = Decimal


@pytest.fixture
def fake() -> Iterator[FakeOkx]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeOkx(rsps)


@pytest.fixture
def okx(fake: FakeOkx, monkeypatch: pytest.MonkeyPatch) -> CcxtAdapter:
    adapter = create(okx_account(monkeypatch))
    adapter.connect()
    return adapter


def buy(cid: str, qty: str = "0.01", price: str | None = "60000.1", tif: TimeInForce = TimeInForce.GTC,
        symbol: str = "BTC/USDT") -> OrderRequest:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderRequest(cid, symbol, Side.BUY, D(qty), kind, D(price) if price else None, tif)


def sent_orders(fake: FakeOkx) -> list[dict]:
    return [json.loads(c.request.body)[0] for c in fake.rsps.calls if "batch-orders" in c.request.url]


class TestPrecisionFollowsOkxInstrumentRules:
    def test_spot_tick_lot_and_min_size_come_from_the_instruments_endpoint(self, okx: CcxtAdapter) -> None:
        btc, eth = okx.instrument("BTC/USDT"), okx.instrument("ETH/USDT")
        assert (btc.tick_size, btc.lot_size, btc.min_size) == (D("0.1"), D("0.00000001"), D("0.00001"))
        assert (eth.tick_size, eth.lot_size, eth.min_size) == (D("0.01"), D("0.000001"), D("0.001"))
        assert btc.venue_symbol == "BTC-USDT" and btc.base == "BTC" and btc.quote == "USDT"

    def test_swap_quantities_are_base_units_contract_value_applied(self, okx: CcxtAdapter) -> None:
        """Issue 13: ctVal 0.01 BTC per contract, lotSz/minSz 0.01 contracts -> 0.0001 BTC. (This
        test pinned contracts before; a qty in contracts made every notional 100x too big.)"""
        swap = okx.instrument("BTC/USDT:USDT")
        assert swap.kind == "perp" and swap.lot_size == D("0.0001") and swap.min_size == D("0.0001")

    def test_quantity_is_floored_to_the_lot_and_price_to_the_passive_tick(self, okx: CcxtAdapter) -> None:
        req = okx.prepare(buy("c1", qty="0.123456789", price="60000.19"))
        assert req.qty == D("0.12345678") and req.price == D("60000.1")
        sell = OrderRequest("c2", "BTC/USDT", Side.SELL, D("0.5"), OrderType.LIMIT, D("60000.11"))
        assert okx.prepare(sell).price == D("60000.2")

    def test_below_okx_min_size_is_refused_before_sending(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        with pytest.raises(PrecisionError):
            okx.prepare(buy("c3", qty="0.000009"))
        assert fake.count("batch-orders") == 0

    def test_the_wire_carries_exact_decimals_client_id_and_tif(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        okx.submit(okx.prepare(buy("gtc1", qty="0.12345678")))
        okx.submit(okx.prepare(buy("post1", tif=TimeInForce.POST_ONLY)))
        okx.submit(okx.prepare(buy("ioc1", tif=TimeInForce.IOC)))
        gtc, post, ioc = sent_orders(fake)
        assert gtc["clOrdId"] == "gtc1" and gtc["sz"] == "0.12345678" and gtc["px"] == "60000.1"
        assert (gtc["ordType"], post["ordType"], ioc["ordType"]) == ("limit", "post_only", "ioc")
        assert gtc["tdMode"] == "cash"

    def test_sandbox_sends_the_demo_trading_header(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        okx.submit(okx.prepare(buy("demo1")))
        call = next(c for c in fake.rsps.calls if "batch-orders" in c.request.url)
        assert call.request.headers["x-simulated-trading"] == "1"


class TestErrorsAreClassifiedByWhatToDoNext:
    def test_rate_limit_is_transient_with_the_venues_retry_hint(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        fake.fault("batch-orders", "429")
        with pytest.raises(TransientError) as info:
            okx.submit(okx.prepare(buy("rl1")))
        assert info.value.retry_after == 2.0

    @pytest.mark.parametrize("kind", ["503", "500"])
    def test_server_errors_are_transient(self, okx: CcxtAdapter, fake: FakeOkx, kind: str) -> None:
        fake.fault("trade/order", kind)
        with pytest.raises(TransientError):
            okx.order("x1", "BTC/USDT")

    def test_insufficient_funds_is_rejected_with_okx_s_words(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        fake.reject_next("51008", "Order failed. Insufficient USDT balance in account.")
        with pytest.raises(RejectedError) as info:
            okx.submit(okx.prepare(buy("nf1")))
        assert "Insufficient USDT balance" in info.value.reason

    def test_a_timeout_on_a_read_is_transient_not_ambiguous(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        fake.fault("trade/order", "timeout")
        with pytest.raises(TransientError) as info:
            okx.order("x2", "BTC/USDT")
        assert not isinstance(info.value, AmbiguousError)

    def test_timeout_on_submit_is_ambiguous_and_the_order_is_found_by_client_id(
        self, okx: CcxtAdapter, fake: FakeOkx
    ) -> None:
        fake.fault("batch-orders", "timeout_after")
        with pytest.raises(AmbiguousError) as info:
            okx.submit(okx.prepare(buy("amb1")))
        assert info.value.client_order_id == "amb1"
        found = okx.order("amb1", "BTC/USDT")
        assert found is not None and found.status is OrderStatus.NEW and found.qty == D("0.01")

    def test_resending_after_a_timeout_returns_the_order_the_venue_already_has(
        self, okx: CcxtAdapter, fake: FakeOkx
    ) -> None:
        fake.fault("batch-orders", "timeout_after")
        with pytest.raises(AmbiguousError):
            okx.submit(okx.prepare(buy("amb2")))
        again = okx.submit(okx.prepare(buy("amb2")))  # OKX answers 51016 Duplicated clOrdId
        assert again.client_order_id == "amb2" and again.venue_order_id == fake.orders["amb2"]["ordId"]
        assert len(fake.orders) == 1


class TestCancelBacksOffWhileTheVenueIsDown:
    def test_cancel_reports_the_cancelled_order(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        okx.submit(okx.prepare(buy("cx1")))
        fake.fill("cx1", D("0.004"))
        rep = okx.cancel("cx1", "BTC/USDT")
        assert rep is not None and rep.status is OrderStatus.CANCELLED and rep.filled_qty == D("0.004")

    def test_cancel_of_a_filled_order_reports_it_filled(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        okx.submit(okx.prepare(buy("cx2")))
        fake.fill("cx2", D("0.01"))
        rep = okx.cancel("cx2", "BTC/USDT")
        assert rep is not None and rep.status is OrderStatus.FILLED

    def test_cancel_of_an_order_the_venue_never_saw_is_none(self, okx: CcxtAdapter) -> None:
        assert okx.cancel("never", "BTC/USDT") is None

    def test_retries_wait_exponentially_longer_on_a_fake_clock(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        slept: list[float] = []
        okx.sleep = slept.append
        okx.submit(okx.prepare(buy("cx3")))
        for _ in range(3):
            fake.fault("cancel-order", "503")
        rep = okx.cancel("cx3", "BTC/USDT")
        assert rep is not None and rep.status is OrderStatus.CANCELLED
        assert slept == [0.5, 1.0, 2.0]
        assert fake.count("cancel-order") == 4

    def test_gives_up_after_the_configured_attempts(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        slept: list[float] = []
        okx.sleep = slept.append
        okx.submit(okx.prepare(buy("cx4")))
        for _ in range(5):
            fake.fault("cancel-order", "503")
        with pytest.raises(TransientError):
            okx.cancel("cx4", "BTC/USDT")
        assert slept == [0.5, 1.0, 2.0, 4.0] and fake.count("cancel-order") == 5

    def test_a_rate_limit_hint_longer_than_our_step_is_honoured(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        slept: list[float] = []
        okx.sleep = slept.append
        okx.submit(okx.prepare(buy("cx5")))
        fake.fault("cancel-order", "429")
        okx.cancel("cx5", "BTC/USDT")
        assert slept == [2.0]  # Retry-After: 2 beats our first step of 0.5 s
