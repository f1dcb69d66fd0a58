"""Alpaca account views, sessions, market data and configuration, on the real alpaca-py."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from runner.errors import BadInputError
from tests.venues.fixtures.alpaca.fake import FakeAlpaca, alpaca_account
from venues.alpaca.adapter import AlpacaAdapter, create
from venues.base import AccountConfig, OrderRequest, OrderType, Side

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


def rest(alpaca: AlpacaAdapter, cid: str, qty: str = "1") -> None:
    alpaca.submit(OrderRequest(cid, "BTC/USD", Side.BUY, D(qty), OrderType.LIMIT, D("63000")))


class TestFillsFromAccountActivities:
    def test_pages_are_walked_oldest_first_and_the_cursor_is_the_last_activity(
        self, fake: FakeAlpaca, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        alpaca = create(alpaca_account(monkeypatch, fills_page_size=2))
        alpaca.connect()
        rest(alpaca, "a1", qty="1")
        for q in ("0.1", "0.2", "0.3", "0.4", "0.5"):
            fake.fill("a1", D(q))
        page = alpaca.fills()
        assert [f.qty for f in page.fills] == [D("0.1"), D("0.2"), D("0.3"), D("0.4"), D("0.5")]
        assert page.cursor == fake.activities[-1]["id"]
        assert alpaca.fills(page.cursor).fills == []

    def test_a_fill_of_an_order_placed_elsewhere_gets_its_client_id_from_the_order(
        self, fake: FakeAlpaca, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = create(alpaca_account(monkeypatch))
        first.connect()
        rest(first, "before-restart")
        fake.fill("before-restart", D("0.5"))
        restarted = create(alpaca_account(monkeypatch))  # knows nothing of the order
        restarted.connect()
        (fill,) = restarted.fills().fills
        assert fill.client_order_id == "before-restart" and fill.venue_order_id == fake.orders["before-restart"]["id"]


class TestPositionsBalancesAndSessions:
    def test_positions_use_our_symbols_and_signed_quantities(self, alpaca: AlpacaAdapter) -> None:
        positions = {p.instrument: p for p in alpaca.positions()}
        assert positions["BTC/USD"].qty == D("0.0213") and positions["BTC/USD"].avg_price == D("63120.5")
        assert positions["AAPL"].qty == D("-5")

    def test_cash_balance_and_what_is_available_without_margin(self, alpaca: AlpacaAdapter) -> None:
        (usd,) = alpaca.balances()
        assert (usd.currency, usd.total, usd.available) == ("USD", D("98120.55"), D("97700.13"))

    def test_equities_follow_the_market_clock_and_crypto_never_closes(
        self, alpaca: AlpacaAdapter, fake: FakeAlpaca
    ) -> None:
        assert alpaca.is_market_open("AAPL") is False
        assert alpaca.is_market_open("BTC/USD") is True
        fake.clock["is_open"] = True
        assert alpaca.is_market_open() is True
        is_open, next_open, next_close = alpaca.market_clock()
        assert next_open.isoformat() == "2024-05-06T09:30:00-04:00" and next_close > next_open


class TestMarketData:
    def test_crypto_book_is_alpacas_latest_orderbook(self, alpaca: AlpacaAdapter) -> None:
        book = alpaca.book("BTC/USD", depth=2)
        assert book.bids == [(63495.1, 0.5412), (63490.0, 1.2)] and book.asks[0] == (63510.7, 0.27)

    def test_equity_book_is_the_latest_quote_as_one_level(self, alpaca: AlpacaAdapter, fake: FakeAlpaca) -> None:
        book = alpaca.book("AAPL")
        assert book.bids == [(182.71, 2.0)] and book.asks == [(182.75, 3.0)]
        assert any("feed=iex" in c.request.url for c in fake.rsps.calls)


class TestConfiguration:
    def test_url_override_reaches_a_plain_local_http_stand_in(self, monkeypatch: pytest.MonkeyPatch) -> None:
        local = "http://127.0.0.1:8766"
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake = FakeAlpaca(rsps, trading=local, data=local)
            alpaca = create(alpaca_account(monkeypatch, url=local + "/"))
            alpaca.connect()
            rest(alpaca, "u1")
            alpaca.book("BTC/USD")
            assert "u1" in fake.orders and all(c.request.url.startswith(local) for c in rsps.calls)

    def test_requests_carry_a_timeout(self, alpaca: AlpacaAdapter) -> None:
        assert alpaca.clients.trading._session.default_timeout == 10.0

    @pytest.mark.parametrize("settings", [{"papr": True}, {"stock_feed": "nasdaq"}])
    def test_bad_settings_are_bad_input(self, settings: dict) -> None:
        with pytest.raises(BadInputError):
            create(AccountConfig("x", "alpaca", settings))

    def test_real_money_needs_live_true(self) -> None:
        with pytest.raises(BadInputError):
            create(AccountConfig("x", "alpaca", {"paper": False}))

    def test_missing_credentials_name_the_environment_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("NO_SUCH_ALPACA_KEY", raising=False)
        adapter = create(AccountConfig("x", "alpaca", {}, {"api_key": "NO_SUCH_ALPACA_KEY",
                                                          "secret_key": "NO_SUCH_ALPACA_KEY"}))
        with pytest.raises(BadInputError, match="NO_SUCH_ALPACA_KEY"):
            adapter.connect()
