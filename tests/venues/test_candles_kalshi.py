"""Warm-up history from Kalshi's market candlesticks (series found through the market's event)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import key_file, rsa_key  # noqa: F401 - pytest fixtures
from venues.kalshi.config import DEMO_URL

NOW = 1763651000.0  # the fake adapter's clock
END = 1763650980  # a minute boundary


def _stick(i: int, bid: int, ask: int) -> dict:  # the documented candlestick element (cents and dollars)
    q = {"open": bid, "low": bid - 1, "high": bid + 1, "close": bid + 1,
         "open_dollars": f"{bid / 100:.4f}", "low_dollars": f"{(bid - 1) / 100:.4f}",
         "high_dollars": f"{(bid + 1) / 100:.4f}", "close_dollars": f"{(bid + 1) / 100:.4f}"}
    a = {"open": ask, "low": ask - 1, "high": ask + 1, "close": ask + 1,
         "open_dollars": f"{ask / 100:.4f}", "low_dollars": f"{(ask - 1) / 100:.4f}",
         "high_dollars": f"{(ask + 1) / 100:.4f}", "close_dollars": f"{(ask + 1) / 100:.4f}"}
    return {"end_period_ts": END - (2 - i) * 60, "yes_bid": q, "yes_ask": a,
            "price": {"open": None, "close": None}, "volume": 7, "volume_fp": "7.00", "open_interest": 120}


@pytest.fixture
def k() -> Iterator[tuple[fake.FakeKalshi, respx.MockRouter]]:
    with respx.mock(assert_all_called=False) as router:
        f = fake.FakeKalshi(router)
        event = fake.fixture("market")["market"]["event_ticker"]
        router.get(f"{DEMO_URL}/events/{event}").mock(
            return_value=httpx.Response(200, json={"event": {"event_ticker": event, "series_ticker": "KXFED"}}))
        router.get(url__regex=rf"{DEMO_URL}/series/KXFED/markets/{fake.TICKER}/candlesticks.*").mock(
            return_value=httpx.Response(200, json={"ticker": fake.TICKER,
                                                   "candlesticks": [_stick(0, 40, 44), _stick(1, 41, 45),
                                                                    _stick(2, 42, 46)]}))
        yield f, router


def test_candlesticks_give_each_legs_mid_per_minute(k: tuple[fake.FakeKalshi, respx.MockRouter], key_file) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _f, router = k
    v = fake.make_adapter(key_file)
    v.connect()
    yes = v.candles(f"{fake.TICKER}:yes", 60, 2)
    assert [(c.ts, c.open, c.close, c.volume) for c in yes] == [(END - 120, 43.0, 44.0, 7.0), (END - 60, 44.0, 45.0, 7.0)]
    no = v.candles(f"{fake.TICKER}:no", 60, 1)
    assert [(c.open, c.close) for c in no] == [(56.0, 55.0)]
    call = next(c for c in router.calls if "candlesticks" in str(c.request.url))
    assert "period_interval=1" in str(call.request.url) and f"end_ts={int(NOW)}" in str(call.request.url)


def test_a_period_kalshi_does_not_serve_asks_nothing(k: tuple[fake.FakeKalshi, respx.MockRouter], key_file) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    v = fake.make_adapter(key_file)
    v.connect()
    assert v.candles(f"{fake.TICKER}:yes", 300, 5) == []
