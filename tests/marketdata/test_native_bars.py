"""Paper on Hyperliquid with the venue's own candles as bars, through the real runtime: a
variant on 1-minute bars is warmed from ``candleSnapshot``, then handed each candle of the
``candle`` channel once, when it closed, with the book of that moment; a connection dropped
mid-candle is filled from REST history; the recording holds exactly the bars the strategy got,
so `runner parity` on it is 100%. A timeframe the venue has no candle of is built from books.

The venue is a local WebSocket server speaking Hyperliquid's documented messages and the SDK
over faked HTTP (``test_hyperliquid_fake``); the runtime, engine, ledger and recorder are real.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.engine.parity import parity
from runner.engine.runtime import Runtime
from runner.kinds.base import MarketEvent
from runner.ledger.store import Ledger, default_url
from runner.marketdata.feed import Feed
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.home import make_home, variant_text
from tests.kit.wsserver import WsServer, eventually
from tests.venues.test_hyperliquid_fake import ADDRESS, TEST_KEY, FakeHyperliquid, stand_in
from tests.venues.test_hyperliquid_stream import hl_reply, l2

T0 = 1_699_999_980  # a minute boundary; the faked REST book (1700000003) is inside minute 0


def candle(i: int, close: float) -> dict[str, Any]:
    """Minute ``i``'s candle as the ``candle`` channel states it (and ``candleSnapshot`` lists it)."""
    t = (T0 + 60 * i) * 1000
    return {"t": t, "T": t + 59_999, "s": "ETH", "i": "1m", "o": "1890.0", "c": str(close),
            "h": str(max(1890.0, close) + 1), "l": str(min(1890.0, close) - 1), "v": "2.5", "n": 9}


@pytest.fixture
def hl(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHyperliquid]:
    with stand_in(monkeypatch) as fake:
        yield fake


@pytest.fixture
def venue() -> Iterator[WsServer]:
    with WsServer(hl_reply) as server:
        yield server


def home_for(tmp_path: Path, venue: WsServer, data: str) -> Path:
    return nb_home(tmp_path, f"ws_url: {venue.url}\n  backoff_s: 0.01", data, entry_z=50)


def nb_home(tmp_path: Path, settings: str, data: str, entry_z: float) -> Path:
    """A deployment with one MR variant NB_v1 on Hyperliquid ETH (``settings``: the account's
    extra lines), its stream ``data``."""
    venues = (f"hl:\n  adapter: hyperliquid\n  testnet: true\n  {settings}\n"
              "  credentials: {secret_key: HL_K, account_address: HL_A}\n")
    text = variant_text("NB_v1", {"window": 3, "entry_z": entry_z, "exit_z": 0.5, "long_only": False,
                                  "order_notional": 1000},
                        {"max_order_notional": 100000, "max_position_notional": 1000000, "max_daily_loss": 100000},
                        venue="hl", instruments=("ETH",), data=data)
    return make_home(tmp_path / "desk", venues, variants={"NB_v1": text}).path


def recorded_bars(home: Path) -> list[tuple[float, float]]:
    (session,) = (home / "state" / "recordings").iterdir()
    (path,) = session.glob("*bars-60s*.csv*")  # with the book columns: bars-60s-book<depth>.csv
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as fh:
        return [(float(r["timestamp"]), float(r["close"])) for r in csv.DictReader(fh)]


def test_candles_are_the_bars_once_each_across_a_drop_and_the_recording_is_what_the_strategy_got(
        tmp_path: Path, hl: FakeHyperliquid, venue: WsServer) -> None:
    hl.info["candleSnapshot"] = [candle(i, 1890.0 + i) for i in (-3, -2, -1)]  # the warm-up history
    home = home_for(tmp_path, venue, "{bars: 1m}")
    rt = Runtime(home, Ledger(default_url(home)), load_venues(home), load_runner_config(home))
    rt.start()
    try:
        assert rt.streams.seen["NB_v1"] == 3  # pre-seeded from candleSnapshot

        def steps_until(seen: int, what: str) -> None:
            def stepped() -> bool:
                rt.step()
                return rt.streams.seen.get("NB_v1", 0) >= seen
            eventually(stepped, what=what)

        rt.step()  # the first book (REST) starts the stream; bars come from the candle channel
        eventually(lambda: venue.sent(lambda m: (m.get("subscription") or {}).get("type") == "candle"),
                   what="the candle subscription")
        venue.send(l2("ETH", (T0 + 20) * 1000, "1890.0", "1890.2"))  # mid 1890.1: not the candle's close
        venue.send({"channel": "candle", "data": candle(0, 1890.3)})
        venue.send({"channel": "candle", "data": candle(0, 1890.5)})  # minute 0 updates in place
        for _ in range(5):
            rt.step()
        assert rt.streams.seen["NB_v1"] == 3  # nothing for a candle in progress
        venue.send(l2("ETH", (T0 + 61) * 1000, "1891.9", "1892.1"))
        venue.send({"channel": "candle", "data": candle(1, 1891.0)})  # minute 1 began: minute 0 closed
        steps_until(4, "minute 0's bar")

        venue.drop()  # mid minute 1; minute 1 ends at 1891.7 and minute 2 comes and goes meanwhile
        hl.info["candleSnapshot"] = [candle(i, px) for i, px in ((-1, 1889.0), (0, 1890.5), (1, 1891.7),
                                                                 (2, 1892.2))]
        eventually(lambda: venue.connections == 2 and len(venue.sent(
            lambda m: (m.get("subscription") or {}).get("type") == "candle")) == 2, what="the reconnect")
        venue.send(l2("ETH", (T0 + 185) * 1000, "1893.9", "1894.1"))
        venue.send({"channel": "candle", "data": candle(3, 1893.0)})
        steps_until(6, "minutes 1 and 2 from REST history")
        for _ in range(5):
            rt.step()
        assert rt.streams.seen["NB_v1"] == 6  # minute 3 is still in progress: not handed
    finally:
        rt.stop()
        rt.ledger.close()

    bars = recorded_bars(home)
    assert bars == [(T0 - 180, 1887.0), (T0 - 120, 1888.0), (T0 - 60, 1889.0),  # warm-up history
                    (T0, 1890.5), (T0 + 60, 1891.7), (T0 + 120, 1892.2)]  # live: each once, final values
    (session,) = (home / "state" / "recordings").iterdir()
    with gzip.open(next(session.glob("decisions/NB_v1.jsonl*")), "rt") as fh:
        decisions = [json.loads(line) for line in fh]
    assert [d["ts"] for d in decisions] == [T0 + 60, T0 + 120, T0 + 180]  # one decision per live bar, at its end
    report = parity(session, load_venues(home))
    (v,) = report["variants"]
    assert v["events"] == 3 and v["share"] == 1.0, v["divergences"]


def test_a_bar_carries_the_book_of_the_moment_it_is_handed_over_and_the_touch_its_orders_met() -> None:
    """The feed's side of native bars: the candle's open and close, the book sampled at hand-over;
    for the recording, the candle's high and low, and the touch an order decided on it met."""
    from venues.base import Candle

    venue = {T0 + 61: [Candle(T0, 100.0, 102.0, 99.0, 101.0, 2.0)],  # minute 0 closes as minute 1 begins
             T0 + 121: [Candle(T0 + 60, 101.0, 103.0, 100.5, 102.5, 3.0)]}

    def closed_bars(sym: str, tf: int, now: float, after: float | None) -> list[Candle]:
        return venue.pop(now, [])

    feed, key = Feed(), ("bars", 60)
    got, ranges = [], []
    for ts, bid, size in ((T0 + 30, 100.0, 5.0), (T0 + 61, 101.0, 7.0), (T0 + 62, 101.2, 1.0),
                          (T0 + 121, 102.4, 4.0)):
        ev = MarketEvent(ts, "ETH", bid, bid + 0.2, (size,), (1.0,), 0.0, bid_prices=(bid,), ask_prices=(bid + 0.2,))
        feed.update("acct", ev, [key], closed_bars)
        for e in feed.events("acct", "ETH", key):
            got.append((e.ts, e.open, e.bid, e.bid_sizes, e.volume))
            ranges.append(feed.bar_range("acct", "ETH", 60, e.ts))
    assert got == [(T0 + 60, 100.0, 101.0, (7.0,), 2.0),  # minute 0's candle with the book at T0+61
                   (T0 + 120, 101.0, 102.5, (4.0,), 3.0)]
    assert ranges == [(102.0, 99.0),  # the candle's high and low
                      (103.0, 100.5, 101.2, 101.4, T0 + 62)]  # and the touch (and its time) after minute 0 was handed


def test_a_timeframe_the_venue_has_no_candle_of_is_built_from_books() -> None:
    asked = []

    def closed_bars(sym: str, tf: int, now: float, after: float | None) -> None:
        asked.append(tf)
        return None  # 5 s: no such candle on the venue

    feed, key = Feed(), ("bars", 5)
    out = []
    for ts, mid in ((T0, 100.0), (T0 + 2, 101.0), (T0 + 5.5, 102.0), (T0 + 11, 103.0)):
        feed.update("acct", MarketEvent(ts, "ETH", mid - 0.1, mid + 0.1, (1.0,), (1.0,), 0.0), [key], closed_bars)
        out += [(e.ts, e.open, e.bid) for e in feed.events("acct", "ETH", key)]
    assert out == [(T0 + 5, 100.0, 101.0), (T0 + 10, 102.0, 102.0)]  # built from the mids
    assert asked == [5]  # asked once: the builder owns the timeframe from then on


@pytest.mark.parametrize(("data", "stream", "says"), [
    ("{bars: 1m}", "true", "the venue's own candles (hl's candle stream)"),
    ("{bars: 5s}", "true", "built from hl's books"),  # no 5 s candle on Hyperliquid
    ("{bars: 1m}", "false", "built from hl's books"),  # no stream, no candle channel
])
def test_validate_says_where_a_variant_gets_its_bars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str,
                                                     stream: str, says: str) -> None:
    from runner.spec.load import load_variant
    from runner.spec.venue_fit import check_fit

    monkeypatch.setenv("HL_K", TEST_KEY)
    monkeypatch.setenv("HL_A", ADDRESS)
    home = nb_home(tmp_path, f"stream: {stream}", data, entry_z=1.0)
    loaded = load_variant(home / "strategies.d" / "NB_v1.yaml", load_venues(home))
    assert check_fit(loaded, load_venues(home), home, offline=True).bars == says
