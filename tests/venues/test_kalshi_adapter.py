"""Kalshi specifics: request signing, key file permissions, recovery by client id, error
classes, cancel backoff, books in both shapes, positions per side, and building from venues.yaml."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from runner.errors import AmbiguousError, BadInputError, PrecisionError, RejectedError, TransientError
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import key_file, rsa_key  # noqa: F401 - pytest fixtures
from venues.base import AccountConfig, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.kalshi import adapter as kalshi_adapter
from venues.kalshi import markets
from venues.kalshi.config import DEMO_URL, PROD_URL, KalshiConfig
from venues.kalshi.signing import PSS, load_private_key

YES, NO = f"{fake.TICKER}:yes", f"{fake.TICKER}:no"
CID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def k() -> Iterator[fake.FakeKalshi]:
    with respx.mock(assert_all_called=False) as router:
        yield fake.FakeKalshi(router)


def order(symbol: str = YES, qty: int = 4, price: Decimal | None = Decimal(42), cid: str = CID,
          tif: TimeInForce = TimeInForce.GTC, side: Side = Side.BUY) -> OrderRequest:
    otype = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest(cid, symbol, side, Decimal(qty), otype, price, tif)


def verify(request: httpx.Request, public_key: rsa.RSAPublicKey, path: str) -> None:
    ts = request.headers["KALSHI-ACCESS-TIMESTAMP"]
    sig = base64.b64decode(request.headers["KALSHI-ACCESS-SIGNATURE"])
    public_key.verify(sig, f"{ts}{request.method}{path}".encode(), PSS, hashes.SHA256())  # raises if bad


class TestSigning:
    def test_every_request_is_signed_over_time_method_and_path_without_query(
            self, k: fake.FakeKalshi, key_file: Path, rsa_key: rsa.RSAPrivateKey) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        v.submit(order())
        v.order("unknown-id", YES)  # a GET with a query string
        post = next(r for r in k.calls if r.method == "POST")
        listing = next(r for r in k.calls if r.url.path.endswith("/portfolio/orders") and r.method == "GET")
        assert post.headers["KALSHI-ACCESS-KEY"] == fake.KEY_ID
        assert post.headers["KALSHI-ACCESS-TIMESTAMP"] == "1763651000000"  # milliseconds
        assert listing.url.query
        verify(post, rsa_key.public_key(), "/trade-api/v2/portfolio/orders")
        verify(listing, rsa_key.public_key(), "/trade-api/v2/portfolio/orders")

    def test_a_plain_local_url_works_and_signs_the_path_as_sent(
            self, key_file: Path, rsa_key: rsa.RSAPrivateKey) -> None:  # noqa: F811
        with respx.mock(assert_all_called=False) as router:
            local = fake.FakeKalshi(router, base="http://127.0.0.1:8123")
            v = fake.make_adapter(key_file, url="http://127.0.0.1:8123/")
            assert v.balances()[0].available == Decimal("995.80")
            call = local.calls[-1]
            assert str(call.url) == "http://127.0.0.1:8123/portfolio/balance"
            verify(call, rsa_key.public_key(), "/portfolio/balance")

    def test_a_key_file_readable_by_others_is_refused(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        key_file.chmod(0o644)
        with pytest.raises(BadInputError) as info:
            fake.make_adapter(key_file)
        assert "chmod 600" in str(info.value) and "0644" in str(info.value)
        assert "PRIVATE KEY" not in str(info.value)
        assert k.calls == []  # refused before any request

    def test_a_missing_or_garbled_key_file_is_bad_input(self, tmp_path: Path) -> None:
        with pytest.raises(BadInputError):
            load_private_key(tmp_path / "absent.pem")
        junk = tmp_path / "junk.pem"
        junk.write_text("not a key")
        junk.chmod(0o600)
        with pytest.raises(BadInputError):
            load_private_key(junk)

    def test_without_credentials_requests_go_unsigned(self, k: fake.FakeKalshi) -> None:
        fake.make_adapter(None).book(YES)
        assert "KALSHI-ACCESS-SIGNATURE" not in k.calls[-1].headers


class TestRecovery:
    def test_the_order_body_carries_our_client_id_side_action_and_cents(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        rep = v.submit(order(NO, price=Decimal(58), tif=TimeInForce.POST_ONLY, side=Side.SELL))
        body = json.loads(next(r for r in k.calls if r.method == "POST").content)
        assert body == {"ticker": fake.TICKER, "client_order_id": CID, "side": "no", "action": "sell",
                        "count": 4, "type": "limit", "no_price": 58, "time_in_force": "good_till_canceled",
                        "post_only": True}
        assert (rep.instrument, rep.side, rep.price, rep.status) == (NO, Side.SELL, Decimal(58), OrderStatus.NEW)

    def test_a_409_duplicate_recovers_the_existing_order_by_client_id(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        for i in range(3):  # other orders first, so the scan has to page (page size 2)
            k.store({"ticker": fake.TICKER, "client_order_id": f"other-{i}", "side": "yes", "action": "buy",
                     "count": 1, "yes_price": 10})
        first = v.submit(order())
        again = fake.make_adapter(key_file).submit(order())  # a fresh process retries the same id
        assert again.venue_order_id == first.venue_order_id and again.client_order_id == CID
        assert len([o for o in k.orders.values() if o["client_order_id"] == CID]) == 1

    def test_a_409_for_an_id_we_cannot_find_is_a_rejection(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        k.create_queue.append(httpx.Response(409, json=fake.fixture("error_conflict")))
        with pytest.raises(RejectedError) as info:
            v.submit(order())
        assert info.value.reason == "order_already_exists: an order with this client_order_id already exists"

    def test_a_timeout_after_sending_is_ambiguous_then_found_by_client_id(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)

        def accept_then_time_out(request: httpx.Request) -> httpx.Response:
            k.store(json.loads(request.content))
            raise httpx.ReadTimeout("timed out", request=request)

        k.create_queue.append(accept_then_time_out)
        with pytest.raises(AmbiguousError) as info:
            v.submit(order())
        assert info.value.client_order_id == CID
        found = v.order(CID, YES)
        assert found is not None and found.status is OrderStatus.NEW and found.qty == Decimal(4)

    def test_a_connect_failure_is_transient_nothing_was_sent(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        k.create_queue.append(httpx.ConnectError("refused"))
        with pytest.raises(TransientError):
            v.submit(order())


class TestErrors:
    def test_429_is_transient_with_the_retry_hint(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        k.create_queue.append(httpx.Response(429, headers={"Retry-After": "7"}, json={"code": "too_many_requests"}))
        with pytest.raises(TransientError) as info:
            v.submit(order())
        assert info.value.retry_after == 7.0
        k.create_queue.append(httpx.Response(429, json={}))
        with pytest.raises(TransientError) as info:
            v.submit(order())
        assert info.value.retry_after == 1.0

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_5xx_to_an_order_is_ambiguous_and_to_a_read_transient(
            self, k: fake.FakeKalshi, key_file: Path, status: int) -> None:  # noqa: F811
        """Issue 13: a 5xx after the order left may hide an order that stands: looked up by
        client id (ambiguous), never counted as a failed send."""
        v = fake.make_adapter(key_file)
        k.create_queue.append(httpx.Response(status, text="down"))
        with pytest.raises(AmbiguousError):
            v.submit(order())
        k.read_faults.append(httpx.Response(status, text="down"))
        with pytest.raises(TransientError):
            v.balances()

    def test_a_read_timeout_on_a_read_is_transient(self, key_file: Path) -> None:  # noqa: F811
        with respx.mock(assert_all_called=False) as router:
            router.get(f"{DEMO_URL}/portfolio/balance").mock(side_effect=httpx.ReadTimeout("slow"))
            v = fake.make_adapter(key_file, KalshiConfig())
            with pytest.raises(TransientError):
                v.balances()

    def test_a_nested_error_body_still_gives_the_reason(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        k.create_queue.append(httpx.Response(400, json=fake.fixture("error_nested")))
        with pytest.raises(RejectedError) as info:
            v.submit(order())
        assert info.value.reason == "invalid_order: post only order would cross"

    def test_orders_kalshi_cannot_express_are_refused_locally(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        with pytest.raises(PrecisionError):
            v.submit(order(price=Decimal("42.5")))
        with pytest.raises(PrecisionError):
            v.submit(order(price=Decimal(100)))
        with pytest.raises(RejectedError):
            v.submit(order(price=None))
        assert not [r for r in k.calls if r.method == "POST"]


class TestCancel:
    def test_cancel_retries_with_exponential_backoff_and_the_venues_hint(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        slept: list[float] = []
        v = fake.make_adapter(key_file, sleep=slept.append)
        v.submit(order())
        k.cancel_queue += [httpx.Response(503), httpx.ReadTimeout("slow"),
                           httpx.Response(429, headers={"Retry-After": "2"})]
        rep = v.cancel(CID, YES)
        assert rep is not None and rep.status is OrderStatus.CANCELLED
        assert slept == [0.25, 0.5, 2.0]
        assert len([r for r in k.calls if r.method == "DELETE"]) == 4

    def test_cancel_gives_up_after_its_attempts(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        slept: list[float] = []
        cfg = KalshiConfig(tickers=(fake.TICKER,), cancel_retries=3, backoff_s=1.0)
        v = fake.make_adapter(key_file, cfg, sleep=slept.append)
        v.submit(order())
        k.cancel_queue += [httpx.Response(502)] * 3
        with pytest.raises(TransientError):
            v.cancel(CID, YES)
        assert slept == [1.0, 2.0]

    def test_cancelling_an_unknown_order_is_none(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        assert fake.make_adapter(key_file).cancel("never-sent", YES) is None


class TestReports:
    def test_books_in_both_shapes_give_bids_best_first_and_implied_asks(self) -> None:
        for name in ("orderbook_fp", "orderbook_legacy"):
            payload = fake.fixture(name)
            yes = markets.book(YES, payload, 2, 0.0)
            assert yes.bids == [(42.0, 13.0), (41.0, 10.0)] and yes.asks == [(44.0, 17.0), (55.0, 20.0)]
            no = markets.book(NO, payload, 1, 0.0)
            assert no.bids == [(56.0, 17.0)] and no.asks == [(58.0, 13.0)]

    def test_fills_accumulate_per_order_with_fees_in_cents(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        v.submit(order())
        k.fill(CID, [Decimal(1), Decimal(1), Decimal(2)])
        page = v.fills()
        assert [(f.qty, f.price, f.liquidity) for f in page.fills] == [
            (Decimal(1), Decimal(42), "maker"), (Decimal(1), Decimal(42), "maker"), (Decimal(2), Decimal(42), "maker")]
        assert page.fills[0].fee_currency == markets.QUOTE
        rep = v.order(CID, YES)
        assert rep is not None and rep.status is OrderStatus.FILLED
        assert rep.filled_qty == Decimal(4) and rep.avg_fill_price == Decimal(42)
        assert v.fills(page.cursor).fills == []
        other = fake.make_adapter(key_file)  # a fresh process maps order ids back to client ids
        assert {f.client_order_id for f in other.fills().fills} == {CID}

    def test_positions_are_long_yes_or_long_no(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        pos = {p.instrument: p for p in fake.make_adapter(key_file).positions()}
        assert pos[YES].qty == Decimal(10) and pos[YES].avg_price == Decimal(42)
        assert pos["KXFED-25DEC-T3.75:no"].qty == Decimal(2) and pos["KXFED-25DEC-T3.75:no"].avg_price == Decimal(58)

    def test_balance_settlements_and_legacy_orders_are_read(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file)
        (bal,) = v.balances()
        assert (bal.currency, bal.total, bal.available) == ("USD", Decimal("1001.16"), Decimal("995.80"))
        (s,) = v.settlements()
        assert (s.ticker, s.result, s.no_count, s.revenue, s.fee) == (
            "KXFED-25OCT-T4.25", "no", Decimal(7), Decimal(700), Decimal(34))
        legacy = markets.order_report(fake.fixture("order_legacy")["order"])
        assert (legacy.instrument, legacy.price, legacy.filled_qty, legacy.status) == (
            NO, Decimal(58), Decimal(5), OrderStatus.FILLED)

    def test_instruments_are_per_side_and_unlisted_markets_load_on_use(self, k: fake.FakeKalshi, key_file: Path) -> None:  # noqa: F811
        v = fake.make_adapter(key_file, KalshiConfig())
        assert v.instruments() == {}
        inst = v.instrument(NO)
        assert (inst.tick_size, inst.lot_size, inst.kind, inst.venue_symbol) == (
            Decimal(1), Decimal(1), "binary", fake.TICKER)
        assert set(v.instruments()) == {YES, NO, fake.TICKER}  # the market itself: its book
        assert v.instruments()[fake.TICKER].kind == "binary_market"
        assert v.capabilities.nets_binary_legs  # Kalshi nets NO against YES
        with pytest.raises(RejectedError):
            v.instrument("NOPE-1:yes")
        with pytest.raises(RejectedError):
            v.instrument(f"{fake.TICKER}:maybe")
        with pytest.raises(RejectedError, match=f"{fake.TICKER}:yes"):
            v.instrument(f"{fake.TICKER}:YES")  # the old spelling is refused with the right one
        with pytest.raises(RejectedError, match="orders trade a leg"):
            v.submit(order(fake.TICKER))


class TestCreate:
    def test_create_reads_settings_and_env_without_network_or_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KALSHI_KEY_ID", fake.KEY_ID)
        monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", "/nonexistent/kalshi.pem")
        creds = {"key_id": "KALSHI_KEY_ID", "private_key_path": "KALSHI_PRIVATE_KEY_PATH"}
        with respx.mock(assert_all_called=False) as router:
            v = kalshi_adapter.create(AccountConfig("kalshi-demo", "kalshi", {"demo": True}, creds))
            assert v.base_url == DEMO_URL and "kalshi.pem" not in repr(v)
            assert kalshi_adapter.create(AccountConfig("p", "kalshi", {"demo": False})).base_url == PROD_URL
            assert kalshi_adapter.create(
                AccountConfig("l", "kalshi", {}, url="http://127.0.0.1:9000")).base_url == "http://127.0.0.1:9000"
            assert not router.calls
        with pytest.raises(BadInputError):
            kalshi_adapter.create(AccountConfig("x", "kalshi", {"dmeo": True}))
