"""Warm-up history from Hyperliquid's ``candleSnapshot`` info request, the real SDK in the loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests.venues import test_hyperliquid_fake as fake

T = 1_700_000_040_000  # ms, a minute boundary


def _candle(i: int) -> dict:  # the documented candleSnapshot element
    o = 1890 + i
    return {"t": T + i * 60_000, "T": T + i * 60_000 + 59_999, "s": "ETH", "i": "1m", "o": f"{o}.1",
            "c": f"{o}.6", "h": f"{o + 1}.0", "l": f"{o - 1}.0", "v": "12.3456", "n": 42}


@pytest.fixture
def hl() -> Iterator[fake.FakeHyperliquid]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield fake.FakeHyperliquid(rsps)


def test_candle_snapshot_gives_the_latest_closed_bars_oldest_first(hl: fake.FakeHyperliquid) -> None:
    hl.info["candleSnapshot"] = [_candle(i) for i in range(4)]
    v = fake.make_adapter()
    bars = v.candles("ETH", 60, 3)
    assert [(c.ts, c.open, c.high, c.low, c.close, c.volume) for c in bars] == [
        ((T + i * 60_000) / 1000, 1890.1 + i, 1891.0 + i, 1889.0 + i, 1890.6 + i, 12.3456) for i in (1, 2, 3)]
    body = next(b for kind, b in hl.requests if kind == "info" and b["type"] == "candleSnapshot")
    assert body["req"]["coin"] == "ETH" and body["req"]["interval"] == "1m"
    assert body["req"]["endTime"] - body["req"]["startTime"] == 4 * 60_000


def test_an_interval_hyperliquid_does_not_serve_asks_nothing(hl: fake.FakeHyperliquid) -> None:
    v = fake.make_adapter()
    assert v.candles("ETH", 7, 10) == []
    assert not [b for kind, b in hl.requests if b.get("type") == "candleSnapshot"]
