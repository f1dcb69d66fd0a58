"""Alpaca orders: asset precision, what goes on the wire, partial fills, error classes, cancel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from runner.errors import AmbiguousError, PostOnlyRejected, PrecisionError, RejectedError, TransientError
from tests.venues.fixtures.alpaca.fake import FakeAlpaca, alpaca_account
from venues.alpaca.adapter import AlpacaAdapter, create
from venues.base import OrderRequest, OrderStatus, OrderType, Side, TimeInForce

D = Decimal


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAlpaca(rsps)


@pytest.fixture
def alpaca(fake: FakeAlpaca, monkeypatch: pytest.MonkeyPatch) -> AlpacaAdapter:
    adapter = create(alpaca_account(monkeypatch))
    adapter.connect()
    return adapter


def buy(cid: str, qty: str = "0.01", price: str | None = "63000", symbol: str = "BTC/USD",
        tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderRequest(cid, symbol, Side.BUY, D(qty), kind, D(price) if price else None, tif)


def sent(fake: FakeAlpaca) -> list[dict]:
    return [json.loads(c.request.body) for c in fake.rsps.calls
            if c.request.method == "POST" and c.request.url.endswith("/v2/orders")]


class TestPrecisionFollowsAlpacaAssets:
    def test_crypto_increments_come_from_the_asset(self, alpaca: AlpacaAdapter) -> None:
        btc, eth = alpaca.instrument("BTC/USD"), alpaca.instrument("ETH/USD")
        assert (btc.tick_size, btc.lot_size, btc.min_size) == (D("1"), D("0.000000001"), D("0.000018869"))
        assert eth.tick_size == D("0.1") and btc.base == "BTC" and btc.quote == "USD"

    def test_equities_tick_in_cents_and_trade_whole_shares(self, alpaca: AlpacaAdapter) -> None:
        aapl = alpaca.instrument("AAPL")
        assert (aapl.kind, aapl.tick_size, aapl.lot_size) == ("equity", D("0.01"), D("1"))
        req = alpaca.prepare(buy("e1", qty="7.9", price="182.718", symbol="AAPL"))
        assert req.qty == D("7") and req.price == D("182.71")
        with pytest.raises(PrecisionError):
            alpaca.prepare(buy("e2", qty="0.5", price="182.7", symbol="AAPL"))

    def test_below_the_min_order_size_is_refused_before_sending(self, alpaca: AlpacaAdapter,
                                                                fake: FakeAlpaca) -> None:
        with pytest.raises(PrecisionError):
            alpaca.prepare(buy("m1", qty="0.00001"))
        assert sent(fake) == []

    def test_the_wire_carries_client_id_qty_price_and_tif(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        alpaca.submit(alpaca.prepare(buy("w1", qty="0.012345678", price="63000.7")))
        alpaca.submit(alpaca.prepare(buy("w2", tif=TimeInForce.IOC)))
        first, second = sent(fake)
        assert first["client_order_id"] == "w1" and D(str(first["qty"])) == D("0.012345678")
        assert D(str(first["limit_price"])) == D("63000") and first["time_in_force"] == "gtc"
        assert second["time_in_force"] == "ioc"

    def test_post_only_is_emulated_against_the_touch(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        """Issue 13 (market making on Alpaca): Alpaca has no post-only flag, so the adapter
        checks the touch: below the ask it goes as a plain GTC limit; at or through the ask it
        is the benign PostOnlyRejected, never sent. (This test pinned a plain refusal before.)"""
        assert alpaca.capabilities.post_only
        rep = alpaca.submit(buy("p1", price="63000", tif=TimeInForce.POST_ONLY))  # ask 63510.7
        assert rep.status.is_open and fake.orders["p1"]["time_in_force"] == "gtc"
        sent = fake.count("/v2/orders")
        with pytest.raises(PostOnlyRejected):
            alpaca.submit(buy("p2", price="63510.7", tif=TimeInForce.POST_ONLY))
        assert fake.count("/v2/orders") == sent


class TestPartialThenFilled:
    def test_an_order_moves_from_partially_filled_to_filled_with_one_fill_each(
        self, alpaca: AlpacaAdapter, fake: FakeAlpaca
    ) -> None:
        alpaca.submit(alpaca.prepare(buy("pf1", qty="0.03")))
        fake.fill("pf1", D("0.01"), D("62990"))
        part = alpaca.order("pf1", "BTC/USD")
        assert part is not None and part.status is OrderStatus.PARTIALLY_FILLED and part.filled_qty == D("0.01")
        page = alpaca.fills()
        fake.fill("pf1", D("0.02"), D("62980"))
        done = alpaca.order("pf1", "BTC/USD")
        assert done is not None and done.status is OrderStatus.FILLED and done.filled_qty == D("0.03")
        assert done.avg_fill_price is not None and abs(done.avg_fill_price - D("62983.33")) < D("0.01")
        later = alpaca.fills(page.cursor)
        assert [(f.qty, f.price) for f in page.fills + later.fills] == [(D("0.01"), D("62990")),
                                                                        (D("0.02"), D("62980"))]
        assert all(f.client_order_id == "pf1" and f.instrument == "BTC/USD" for f in later.fills)


class TestErrorsAreClassifiedByHttpStatus:
    def test_429_is_transient_with_the_retry_hint(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        fake.fault("/v2/orders", "429")
        with pytest.raises(TransientError) as info:
            alpaca.submit(alpaca.prepare(buy("r1")))
        assert info.value.retry_after == 3.0
        assert fake.count("/v2/orders") == 1  # the SDK's own blocking retry is off

    @pytest.mark.parametrize("kind", ["500", "503"])
    def test_5xx_is_transient(self, alpaca: AlpacaAdapter, fake: FakeAlpaca, kind: str) -> None:
        fake.fault("/v2/account", kind)
        with pytest.raises(TransientError):
            alpaca.balances()

    @pytest.mark.parametrize(("status", "code", "message"), [
        (403, 40310000, "insufficient balance for USD (requested: 630, available: 100)"),
        (422, 42210000, "qty must be >= 0.000018869"),
    ])
    def test_4xx_is_rejected_with_alpacas_message(self, alpaca: AlpacaAdapter, fake: FakeAlpaca,
                                                  status: int, code: int, message: str) -> None:
        fake.reject_next(status, code, message)
        with pytest.raises(RejectedError) as info:
            alpaca.submit(alpaca.prepare(buy("r2")))
        assert info.value.reason == message

    def test_a_submit_timeout_is_ambiguous_and_recovered_by_client_id(
        self, alpaca: AlpacaAdapter, fake: FakeAlpaca
    ) -> None:
        fake.fault("/v2/orders", "timeout_after")
        with pytest.raises(AmbiguousError):
            alpaca.submit(alpaca.prepare(buy("t1")))
        found = alpaca.order("t1", "BTC/USD")
        assert found is not None and found.status is OrderStatus.NEW and found.venue_order_id

    def test_a_timeout_before_the_venue_acted_leaves_nothing_to_find(
        self, alpaca: AlpacaAdapter, fake: FakeAlpaca
    ) -> None:
        fake.fault("/v2/orders", "timeout")
        with pytest.raises(AmbiguousError):
            alpaca.submit(alpaca.prepare(buy("t2")))
        assert alpaca.order("t2", "BTC/USD") is None


class TestCancel:
    def test_cancel_reports_the_cancelled_order(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        alpaca.submit(alpaca.prepare(buy("c1")))
        rep = alpaca.cancel("c1", "BTC/USD")
        assert rep is not None and rep.status is OrderStatus.CANCELLED

    def test_cancel_of_a_filled_order_reports_it_filled(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        alpaca.submit(alpaca.prepare(buy("c2")))
        fake.fill("c2", D("0.01"))
        rep = alpaca.cancel("c2", "BTC/USD")
        assert rep is not None and rep.status is OrderStatus.FILLED

    def test_cancel_of_an_unknown_order_is_none(self, alpaca: AlpacaAdapter) -> None:
        assert alpaca.cancel("nope", "BTC/USD") is None

    def test_cancel_backs_off_exponentially_on_a_fake_clock(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        slept: list[float] = []
        alpaca.sleep = slept.append
        alpaca.submit(alpaca.prepare(buy("c3")))
        for _ in range(3):
            fake.fault("/v2/orders/", "503")
        rep = alpaca.cancel("c3", "BTC/USD")
        assert rep is not None and rep.status is OrderStatus.CANCELLED
        assert slept == [0.5, 1.0, 2.0]  # DELETE /v2/orders/{id} failed three times, then went through
        assert sum(1 for c in fake.rsps.calls if c.request.method == "DELETE") == 4

    def test_cancel_gives_up_when_the_venue_stays_down(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        slept: list[float] = []
        alpaca.sleep = slept.append
        alpaca.submit(alpaca.prepare(buy("c4")))
        alpaca.order("c4", "BTC/USD")
        fake.faults += [("/v2/orders/", "503")] * 5
        with pytest.raises(TransientError):
            alpaca.cancel("c4", "BTC/USD")  # lookup by client id works; DELETE /v2/orders/{id} never does
        assert slept[-4:] == [0.5, 1.0, 2.0, 4.0]
