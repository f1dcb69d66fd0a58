"""Warm-up history from Alpaca's historical bars (stocks and crypto), alpaca-py in the loop."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import responses

from tests.venues.fixtures.alpaca.fake import DATA, FakeAlpaca, alpaca_account
from venues.alpaca.adapter import AlpacaAdapter, create

NOW = 1_700_000_100.0  # 2023-11-14T22:15:00Z: the bar of 22:14 is the last closed one


def _bar(minute: int, px: float) -> dict:  # the documented bar object of /v2/stocks/bars
    return {"t": f"2023-11-14T22:{minute:02d}:00Z", "o": px, "h": px + 1, "l": px - 1, "c": px + 0.5, "v": 1200,
            "n": 30, "vw": px + 0.2}


@pytest.fixture
def alpaca(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AlpacaAdapter, responses.RequestsMock]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeAlpaca(rsps)
        body = {"bars": {"AAPL": [_bar(12, 189.0), _bar(13, 189.5), _bar(14, 190.0), _bar(15, 190.5)]},
                "next_page_token": None}
        rsps.add(responses.GET, re.compile(re.escape(DATA + "/v2/stocks/bars") + r".*"), body=json.dumps(body))
        adapter = create(alpaca_account(monkeypatch))
        adapter.clock = lambda: NOW
        adapter.connect()
        yield adapter, rsps


def test_stock_bars_give_the_latest_closed_minutes_oldest_first(alpaca: tuple[AlpacaAdapter, responses.RequestsMock]
                                                                 ) -> None:
    adapter, rsps = alpaca
    bars = adapter.candles("AAPL", 60, 2)
    assert [(c.ts, c.open, c.close, c.volume) for c in bars] == [
        (1_699_999_980.0, 189.5, 190.0, 1200.0), (1_700_000_040.0, 190.0, 190.5, 1200.0)]
    (call,) = [c for c in rsps.calls if "/v2/stocks/bars" in c.request.url]
    assert "symbols=AAPL" in call.request.url and "timeframe=1Min" in call.request.url
