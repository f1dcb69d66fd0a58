"""Warm-up history through ccxt: OKX's documented candles response, the real SDK in the loop."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import responses

from tests.venues.fixtures.okx.fake import BASE, FakeOkx, okx_account
from venues.ccxt.adapter import CcxtAdapter, create

T0 = 1_700_000_000_000  # ms, a minute boundary would be 1_699_999_980_000


def _okx_candles() -> dict:  # GET /api/v5/market/candles: newest first, the last field is "confirm"
    rows = []
    for i, confirm in ((3, "0"), (2, "1"), (1, "1"), (0, "1")):
        ts = 1_699_999_800_000 + i * 60_000
        o = 37000 + i
        rows.append([str(ts), f"{o}.5", f"{o + 2}.0", f"{o - 1}.0", f"{o + 1}.25", "12.5", "462500", "462500", confirm])
    return {"code": "0", "msg": "", "data": rows}


@pytest.fixture
def okx(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CcxtAdapter, responses.RequestsMock]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeOkx(rsps)
        rsps.add(responses.GET, re.compile(re.escape(BASE + "/api/v5/market/") + r"(history-)?candles.*"),
                 body=json.dumps(_okx_candles()))
        adapter = create(okx_account(monkeypatch))
        adapter.connect()
        yield adapter, rsps


def test_fetch_ohlcv_gives_the_closed_bars_oldest_first(okx: tuple[CcxtAdapter, responses.RequestsMock]) -> None:
    adapter, rsps = okx
    adapter.clock = lambda: (1_699_999_800_000 + 3 * 60_000 + 30_000) / 1000  # inside the 4th bar
    bars = adapter.candles("BTC/USDT", 60, 2)
    assert [(c.ts, c.open, c.close, c.volume) for c in bars] == [
        (1_699_999_860.0, 37001.5, 37002.25, 12.5), (1_699_999_920.0, 37002.5, 37003.25, 12.5)]
    (call,) = [c for c in rsps.calls if "candles" in c.request.url]
    assert "instId=BTC-USDT" in call.request.url and "bar=1m" in call.request.url


def test_a_timeframe_the_exchange_does_not_offer_gives_no_history(okx: tuple[CcxtAdapter, responses.RequestsMock]
                                                                  ) -> None:
    adapter, _ = okx
    assert adapter.candles("BTC/USDT", 7, 5) == []
