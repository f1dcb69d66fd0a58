"""Hyperliquid specifics: precision, the inner-error envelope, fills summed per order, error
classes, cancel backoff, HIP-3 dexes and building from venues.yaml."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
import responses

from runner.errors import AmbiguousError, BadInputError, PrecisionError, RejectedError, TransientError
from tests.venues import test_hyperliquid_fake as fake
from venues.base import AccountConfig, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.hyperliquid import adapter as hl_adapter
from venues.hyperliquid.config import MAINNET_URL, TESTNET_URL, HyperliquidConfig
from venues.hyperliquid.precision import is_flat_with_dust, round_price, to_cloid

CID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def hl() -> Iterator[fake.FakeHyperliquid]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield fake.FakeHyperliquid(rsps)


def buy(symbol: str = "ETH", qty: str = "0.04", price: str | None = "1800.5", cid: str = CID,
        tif: TimeInForce = TimeInForce.GTC, **kw: object) -> OrderRequest:
    otype = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest(cid, symbol, Side.BUY, Decimal(qty), otype, Decimal(price) if price else None, tif,
                        **kw)  # type: ignore[arg-type]


class TestPrecision:
    def test_lot_is_ten_to_the_minus_sz_decimals(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        assert v.instrument("BTC").lot_size == Decimal("0.00001")
        assert v.instrument("ETH").lot_size == Decimal("0.0001")
        assert v.instrument("kPEPE").lot_size == Decimal("1")
        assert v.instrument("PURR/USDC").lot_size == Decimal("1") and v.instrument("PURR/USDC").kind == "spot"
        assert "OLD" not in v.instruments()  # delisted

    @pytest.mark.parametrize(("symbol", "price", "side", "expected"), [
        ("BTC", "30135.67", Side.BUY, "30135"),   # 5 significant figures
        ("BTC", "30135.67", Side.SELL, "30136"),
        ("BTC", "123456.7", Side.BUY, "123456"),  # integers are always allowed
        ("ETH", "1800.55", Side.BUY, "1800.5"),
        ("ETH", "1800.55", Side.SELL, "1800.6"),
        ("SOL", "26.51678", Side.BUY, "26.516"),
        ("kPEPE", "0.00156789", Side.BUY, "0.001567"),  # 6 - szDecimals(0) decimals
        ("PURR/USDC", "0.123456789", Side.SELL, "0.12346"),  # spot: 8 - szDecimals
        ("ETH", "9.999996", Side.SELL, "10"),
    ])
    def test_prices_go_to_the_passive_side_of_the_significant_figure_grid(
            self, hl: fake.FakeHyperliquid, symbol: str, price: str, side: Side, expected: str) -> None:
        inst = fake.make_adapter().instrument(symbol)
        assert round_price(Decimal(price), side, inst) == Decimal(expected)

    def test_prepare_floors_the_size_and_rounds_the_price(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        out = v.prepare(buy(qty="0.04009", price="1800.57"))
        assert (out.qty, out.price) == (Decimal("0.04"), Decimal("1800.5"))

    def test_a_size_that_floors_to_zero_is_refused_and_never_sent(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        with pytest.raises(PrecisionError):
            v.prepare(buy(qty="0.00009"))
        with pytest.raises(PrecisionError):  # even unprepared, even reduce-only
            v.submit(buy(qty="0.00009", reduce_only=True))
        with pytest.raises(PrecisionError):
            v.submit(buy(qty="0"))
        assert hl.exchange_actions() == []

    def test_an_off_grid_price_is_refused_locally(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        with pytest.raises(PrecisionError):
            v.submit(buy(price="1800.55"))
        assert hl.exchange_actions() == []

    def test_the_signed_wire_carries_size_price_cloid_and_post_only(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.accept_next()
        v.submit(buy(tif=TimeInForce.POST_ONLY))
        wire = hl.exchange_actions()[0]["orders"][0]
        assert wire == {"a": 1, "b": True, "p": "1800.5", "s": "0.04", "r": False,
                        "t": {"limit": {"tif": "Alo"}}, "c": "0x" + CID}

    def test_client_ids_map_to_cloids_one_to_one_or_by_a_stable_hash(self) -> None:
        assert to_cloid(CID) == "0x" + CID
        assert to_cloid("c-prec") == to_cloid("c-prec") and len(to_cloid("c-prec")) == 34

    def test_residual_of_at_most_one_and_a_half_lots_is_flat_with_dust(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        eth = v.instrument("ETH")
        assert is_flat_with_dust(Decimal("0.00015"), eth) and v.is_flat_with_dust(Decimal("-0.0001"), "ETH")
        assert not is_flat_with_dust(Decimal("0.00016"), eth)


class TestAnswers:
    def test_an_ok_envelope_with_an_inner_error_is_a_rejection(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.reject_next("exchange_order_error")
        with pytest.raises(RejectedError) as info:
            v.submit(buy())
        assert info.value.reason == "Order must have minimum value of $10."

    def test_an_err_envelope_is_a_rejection_with_the_venues_text(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.reject_next("exchange_action_err")
        with pytest.raises(RejectedError) as info:
            v.submit(buy())
        assert "does not exist" in (info.value.reason or "")

    def test_an_immediate_fill_is_reported_filled(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next(fake.fixture("exchange_order_filled"))
        rep = v.submit(buy(qty="0.02", price="1900", tif=TimeInForce.IOC))
        assert rep.status is OrderStatus.FILLED and rep.filled_qty == Decimal("0.02")
        assert rep.avg_fill_price == Decimal("1891.4") and rep.venue_order_id == "77747314"

    def test_a_market_order_is_an_ioc_limit_through_the_mid(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.accept_next()
        v.submit(buy(price=None))
        wire = hl.exchange_actions()[0]["orders"][0]
        assert wire["t"] == {"limit": {"tif": "Ioc"}}
        assert Decimal(wire["p"]) == Decimal("1999.2")  # 1903.95 * 1.05 = 1999.1475, up to the grid

    def test_three_maker_chunks_are_one_order_and_one_position(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.accept_next()
        v.submit(buy())
        hl.fill("0x" + CID, [Decimal("0.01"), Decimal("0.01"), Decimal("0.02")])
        page = v.fills()
        assert [f.qty for f in page.fills] == [Decimal("0.01"), Decimal("0.01"), Decimal("0.02")]
        assert {f.liquidity for f in page.fills} == {"maker"}
        assert {f.client_order_id for f in page.fills} == {CID}
        rep = v.order(CID, "ETH")
        assert rep is not None and rep.status is OrderStatus.FILLED
        assert rep.filled_qty == Decimal("0.04") and rep.avg_fill_price == Decimal("1800.5")
        hl.info["clearinghouseState"] = fake.fixture("clearinghouse_state")
        assert [(p.instrument, p.qty) for p in v.positions()] == [("ETH", Decimal("0.04"))]
        assert v.fills(page.cursor).fills == []

    def test_fills_of_orders_placed_elsewhere_learn_their_client_id_by_oid(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.accept_next()
        fake.make_adapter(connect=True).submit(buy())  # another process placed it
        hl.fill("0x" + CID, [Decimal("0.04")])
        assert [f.client_order_id for f in v.fills().fills] == [CID]

    def test_book_and_balances_are_read(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        book = v.book("ETH", depth=1)
        assert book.bids == [(1890.1, 1.25)] and book.asks == [(1890.2, 0.8)] and book.ts == 1700000003.0
        hl.info["clearinghouseState"] = fake.fixture("clearinghouse_state")
        bal = {b.currency: b for b in v.balances()}
        assert bal["USDC"].total == Decimal("1000.0") and bal["USDC"].available == Decimal("996.399")
        assert bal["spot:PURR"].available == Decimal("1900")


class TestErrors:
    def test_429_is_transient_with_the_venues_retry_hint(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next((429, "null", {"Retry-After": "3"}))
        with pytest.raises(TransientError) as info:
            v.submit(buy())
        assert info.value.retry_after == 3.0
        hl.info_queue["userFillsByTime"] = [(429, {"error": "rate limited"}, {})]
        with pytest.raises(TransientError) as info:  # within the venue's hint: refused here, nothing sent
            v.fills()
        assert 2.0 < info.value.retry_after <= 3.0
        assert len(hl.info_queue["userFillsByTime"]) == 1

    def test_a_429_without_retry_after_uses_the_configured_hint(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.info_queue["userFillsByTime"] = [(429, {"error": "rate limited"}, {})]
        with pytest.raises(TransientError) as info:
            v.fills()
        assert info.value.retry_after == 1.0

    @pytest.mark.parametrize("reply", [(500, "oops", {}), (503, "", {}), requests.exceptions.ConnectionError("reset")])
    def test_server_and_connection_errors_after_an_order_left_are_ambiguous(
            self, hl: fake.FakeHyperliquid, reply: object) -> None:
        """Issue 13: the order may stand (a 502 after the node took it), so it is looked up by
        client id, never counted as a failed send. The same failure on a read is transient."""
        v = fake.make_adapter()
        hl.fail_next(reply)
        with pytest.raises(AmbiguousError):
            v.submit(buy())
        hl.info_queue["userFillsByTime"] = [reply]
        with pytest.raises(TransientError):
            v.fills()

    def test_connect_refused_is_transient_nothing_left(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next(fake.connect_refused("https://api.hyperliquid-testnet.xyz/exchange"))
        with pytest.raises(TransientError):
            v.submit(buy())

    def test_a_timeout_is_ambiguous_for_an_order_and_transient_for_a_read(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next(requests.exceptions.ReadTimeout("slow"))
        with pytest.raises(AmbiguousError) as info:
            v.submit(buy())
        assert info.value.client_order_id == CID
        hl.info_queue["orderStatus"] = [requests.exceptions.ReadTimeout("slow")]
        with pytest.raises(TransientError):
            v.order(CID, "ETH")

    def test_other_4xx_is_a_rejection(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next((422, "Failed to deserialize the JSON body", {}))
        with pytest.raises(RejectedError):
            v.submit(buy())

    def test_no_secret_ever_appears_in_errors_or_repr(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next(requests.exceptions.ReadTimeout("slow"))
        with pytest.raises(AmbiguousError) as info:
            v.submit(buy())
        key = fake.TEST_KEY.removeprefix("0x")
        assert key not in str(info.value) and key not in repr(v)


class TestCancel:
    def test_cancel_retries_with_exponential_backoff_and_the_venues_hint(self, hl: fake.FakeHyperliquid) -> None:
        slept: list[float] = []
        v = fake.make_adapter(sleep=slept.append)
        hl.accept_next()
        v.submit(buy())
        hl.fail_next((502, "", {}))
        hl.fail_next(requests.exceptions.ConnectionError("reset"))
        hl.fail_next((429, "null", {"Retry-After": "5"}))
        hl.fail_next(fake.fixture("exchange_cancel_success"))
        hl.orders["0x" + CID]["order"]["status"] = "canceled"
        rep = v.cancel(CID, "ETH")
        assert rep is not None and rep.status is OrderStatus.CANCELLED
        assert slept == [0.25, 0.5, 5.0]
        assert [a["type"] for a in hl.exchange_actions()] == ["order"] + ["cancelByCloid"] * 4

    def test_cancel_gives_up_after_its_attempts(self, hl: fake.FakeHyperliquid) -> None:
        slept: list[float] = []
        v = fake.make_adapter(HyperliquidConfig(cancel_retries=4, backoff_s=1, backoff_max_s=3), sleep=slept.append)
        for _ in range(4):
            hl.fail_next((503, "", {}))
        with pytest.raises(TransientError):
            v.cancel(CID, "ETH")
        assert slept == [1, 2, 3]

    def test_cancelling_an_order_already_gone_reports_it_instead_of_failing(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter()
        hl.fail_next(fake.fixture("exchange_cancel_error"))
        assert v.cancel(CID, "ETH") is None  # never placed


class TestHip3:
    def test_builder_dex_coins_load_with_their_asset_ids_and_isolated_leverage(self, hl: fake.FakeHyperliquid) -> None:
        v = fake.make_adapter(HyperliquidConfig(dexes=("xyz",), leverage={"xyz:TSLA": 3}))
        tsla = v.instrument("xyz:TSLA")
        assert tsla.lot_size == Decimal("0.001") and tsla.kind == "perp" and tsla.base == "TSLA"
        assert {"type": "meta", "dex": "xyz"} in [b for _, b in hl.requests]
        hl.fail_next({"status": "ok", "response": {"type": "default"}})
        hl.accept_next()
        v.submit(buy("xyz:TSLA", qty="0.05", price="250.5"))
        lev, order = hl.exchange_actions()
        assert lev == {"type": "updateLeverage", "asset": 110000, "isCross": False, "leverage": 3}
        assert order["orders"][0]["a"] == 110000
        hl.info["clearinghouseState"] = fake.fixture("clearinghouse_state_empty")
        v.positions()
        assert {"type": "clearinghouseState", "user": fake.ADDRESS, "dex": "xyz"} in [b for _, b in hl.requests]

    def test_an_unknown_dex_is_bad_input(self, hl: fake.FakeHyperliquid) -> None:
        with pytest.raises(BadInputError):
            fake.make_adapter(HyperliquidConfig(dexes=("nope",)))


class TestCreate:
    def test_create_reads_settings_and_env_without_network(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HL_SECRET_KEY", fake.TEST_KEY)
        monkeypatch.setenv("HL_ACCOUNT_ADDRESS", fake.ADDRESS)
        creds = {"secret_key": "HL_SECRET_KEY", "account_address": "HL_ACCOUNT_ADDRESS"}
        with responses.RequestsMock():  # any request would fail: none is made
            v = hl_adapter.create(AccountConfig("hl-testnet", "hyperliquid", {"testnet": True}, creds))
            assert v.base_url == TESTNET_URL
            assert hl_adapter.create(AccountConfig("m", "hyperliquid", {"testnet": False})).base_url == MAINNET_URL
            local = hl_adapter.create(AccountConfig("l", "hyperliquid", {}, url="http://127.0.0.1:8099/"))
            assert local.base_url == "http://127.0.0.1:8099"
        with pytest.raises(BadInputError):
            hl_adapter.create(AccountConfig("x", "hyperliquid", {"tesnet": True}))

    def test_importing_the_adapter_does_not_import_the_sdk(self) -> None:
        code = "import sys, venues.registry, venues.hyperliquid.adapter; print('hyperliquid.exchange' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "False"


class TestFundingRate:
    def test_a_perp_book_carries_the_venues_funding_rate_and_interval(self, hl: fake.FakeHyperliquid) -> None:
        """Issue 13 (funding_arb on Hyperliquid): the hourly rate from ``metaAndAssetCtxs``."""
        meta = fake.fixture("meta")
        ctxs = [{"dayNtlVlm": "1.0", "funding": "0.0000125" if a["name"] == "ETH" else "0.00001", "impactPxs": None,
                 "markPx": "1890.2", "midPx": "1890.15", "openInterest": "1.0", "oraclePx": "1890.0",
                 "premium": "0.0", "prevDayPx": "1880.0"} for a in meta["universe"]]
        hl.info["metaAndAssetCtxs"] = [meta, ctxs]
        v = fake.make_adapter()
        book = v.book("ETH")
        assert book.extra == {"funding_rate": 0.0000125, "funding_interval_s": 3600.0}

    def test_a_venue_that_does_not_say_leaves_the_book_without_funding(self, hl: fake.FakeHyperliquid) -> None:
        hl.info_queue["metaAndAssetCtxs"] = [(422, "Failed to deserialize the JSON body", {})]
        v = fake.make_adapter()
        assert v.book("ETH").extra == {}
