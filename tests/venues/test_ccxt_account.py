"""ccxt/OKX account views: fills after a cursor, positions, balances, book, and configuration."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses

from runner.errors import BadInputError
from tests.venues.fixtures.okx.fake import FakeOkx, okx_account
from venues.base import AccountConfig, OrderRequest, OrderStatus, OrderType, Side
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


def rest(okx: CcxtAdapter, cid: str, qty: str = "1") -> None:
    okx.submit(OrderRequest(cid, "BTC/USDT", Side.BUY, D(qty), OrderType.LIMIT, D("60000.1")))


class TestFillsAfterACursor:
    def test_fills_carry_client_id_fee_and_liquidity(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        rest(okx, "f1")
        fake.fill("f1", D("0.25"), exec_type="T")
        (fill,) = okx.fills().fills
        assert fill.client_order_id == "f1" and fill.qty == D("0.25") and fill.price == D("60000.1")
        # OKX took 0.0002 BTC from the bought asset: counted in the quote at the fill price
        assert fill.liquidity == "taker" and fill.fee == D("0.0002") * D("60000.1") and fill.fee_currency == "USDT"
        assert fill.fill_id.startswith("BTC/USDT:")

    def test_swap_fills_are_read_with_the_default_config_in_base_units(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        """Issue 13: fills() scans every market type loaded (not only spot), and a swap's
        contracts become base units with ctVal (0.01 BTC): 0.03 BTC is sent as 3 contracts."""
        okx.submit(OrderRequest("s1", "BTC/USDT:USDT", Side.SELL, D("0.03"), OrderType.LIMIT, D("61000.5")))
        assert D(fake.orders["s1"]["sz"]) == 3
        fake.fill("s1", D("2"))  # the venue reports contracts
        (fill,) = okx.fills().fills
        assert fill.instrument == "BTC/USDT:USDT" and fill.qty == D("0.02") and fill.fee_currency == "USDT"
        rep = okx.order("s1", "BTC/USDT:USDT")
        assert rep is not None and rep.qty == D("0.03") and rep.filled_qty == D("0.02")

    def test_fills_in_the_same_millisecond_as_the_cursor_are_not_lost_or_repeated(
        self, okx: CcxtAdapter, fake: FakeOkx
    ) -> None:
        rest(okx, "f2")
        first = fake.fill("f2", D("0.1"))
        page = okx.fills()
        fake.now_ms = int(first["ts"]) - 1000  # the next fill lands in the same millisecond
        fake.fill("f2", D("0.2"))
        fake.fill("f2", D("0.3"))
        more = okx.fills(page.cursor)
        assert [f.qty for f in more.fills] == [D("0.2"), D("0.3")]
        assert okx.fills(more.cursor).fills == []

    def test_more_fills_than_a_page_are_walked_back_and_returned_oldest_first(
        self, fake: FakeOkx, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        okx = create(okx_account(monkeypatch, fills_page_limit=3))
        okx.connect()
        rest(okx, "f3", qty="10")
        for i in range(1, 8):
            fake.fill("f3", D(i))
        page = okx.fills()
        assert [f.qty for f in page.fills] == [D(i) for i in range(1, 8)]
        assert fake.count("fills-history") > 1
        assert okx.fills(page.cursor).fills == []

    def test_an_empty_page_keeps_the_cursor(self, okx: CcxtAdapter) -> None:
        assert okx.fills("1700000000000:BTC/USDT:1").cursor == "1700000000000:BTC/USDT:1"


class TestPositionsBalancesAndBook:
    def test_spot_holdings_and_swap_positions_are_positions(self, okx: CcxtAdapter) -> None:
        positions = {p.instrument: p for p in okx.positions()}
        assert positions["BTC/USDT"].qty == D("0.0163")
        swap = positions["BTC/USDT:USDT"]
        # net mode, short one contract of ctVal 0.01 BTC: -0.01 BTC
        assert swap.qty == D("-0.01") and swap.avg_price == D("61250.3")

    def test_balances_have_total_and_available(self, okx: CcxtAdapter) -> None:
        usdt = next(b for b in okx.balances() if b.currency == "USDT")
        assert usdt.total == D("9850.5") and usdt.available == D("9000.5")

    def test_book_is_best_first_with_the_venue_timestamp(self, okx: CcxtAdapter) -> None:
        book = okx.book("BTC/USDT", depth=2)
        assert book.bids == [(59999.9, 0.8), (59999.2, 2.1)] and book.asks[0] == (60000.1, 0.5213)
        assert book.ts == 1700000000.123

    def test_open_orders_lists_resting_orders(self, okx: CcxtAdapter, fake: FakeOkx) -> None:
        rest(okx, "o1")
        rest(okx, "o2")
        fake.fill("o2", D("1"))
        assert [o.client_order_id for o in okx.open_orders()] == ["o1"]


class TestExchangesWithoutLookupByClientId:
    def test_lookup_and_cancel_scan_open_then_closed_orders(
        self, fake: FakeOkx, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        okx = create(okx_account(monkeypatch, lookup_by_client_id=False))
        okx.connect()
        rest(okx, "s1")
        assert okx.order("s1", "BTC/USDT").status is OrderStatus.NEW  # type: ignore[union-attr]
        assert okx.cancel("s1", "BTC/USDT").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
        assert okx.order("nope", "BTC/USDT") is None


class TestConfiguration:
    def test_url_override_reaches_a_plain_local_http_stand_in(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            local = FakeOkx(rsps, base="http://127.0.0.1:8765")
            okx = create(okx_account(monkeypatch, url="http://127.0.0.1:8765/"))
            okx.connect()
            rest(okx, "u1")
            assert "u1" in local.orders

    def test_symbols_setting_limits_the_instruments(self, fake: FakeOkx, monkeypatch: pytest.MonkeyPatch) -> None:
        okx = create(okx_account(monkeypatch, symbols=["ETH/USDT"]))
        okx.connect()
        assert list(okx.instruments()) == ["ETH/USDT"]

    @pytest.mark.parametrize("settings", [{"exchange": "no-such-exchange"}, {"sandboxx": True}])
    def test_bad_settings_are_bad_input(self, settings: dict) -> None:
        with pytest.raises(BadInputError):
            create(AccountConfig("x", "ccxt", settings))

    def test_leaving_the_sandbox_needs_live_true(self) -> None:
        with pytest.raises(BadInputError):
            create(AccountConfig("x", "ccxt", {"sandbox": False}))
        assert create(AccountConfig("x", "ccxt", {"sandbox": False}, live=True)).exchange.headers == {}

    def test_importing_the_registry_does_not_import_the_sdks(self) -> None:
        code = "import sys, venues.registry; assert not {'ccxt', 'alpaca'} & set(sys.modules)"
        subprocess.run([sys.executable, "-c", code], check=True)


def test_a_swap_book_carries_the_funding_rate_and_the_interval_the_venue_states(okx: CcxtAdapter) -> None:
    """Issue 13 (funding_arb on OKX; the interval is the venue's, here 1 h, not a fixed 8 h)."""
    assert okx.book("BTC/USDT:USDT").extra == {"funding_rate": 0.00027815, "funding_interval_s": 3600.0}
    assert okx.book("BTC/USDT").extra == {}
