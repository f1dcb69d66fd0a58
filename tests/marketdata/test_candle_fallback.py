"""Bars while the venue's candle socket is down: built from the books, on time, once each; and
back on the candles when the socket comes up, with no bar doubled or missing at either switch.

Hyperliquid through the real runtime: the SDK over faked HTTP (``test_hyperliquid_fake``; the
REST book's time is the venue clock each step), the WebSocket end a local port that refuses
connections, later a local server speaking Hyperliquid's ``candle`` and ``l2Book`` messages on
that port. The runtime, engine, ledger, recorder and status read model are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.cli.views import status_view
from runner.engine.parity import parity
from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.home import make_home, variant_text
from tests.kit.wsserver import WsServer, eventually, refusing_port
from tests.marketdata.test_native_bars import T0, candle, recorded_bars
from tests.venues.test_hyperliquid_fake import FakeHyperliquid, stand_in
from tests.venues.test_hyperliquid_stream import hl_reply, l2


@pytest.fixture
def hl(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHyperliquid]:
    with stand_in(monkeypatch) as fake:
        fake.info["candleSnapshot"] = [candle(i, 1890.0 + i) for i in (-3, -2, -1)]  # the warm-up history
        yield fake


def runtime(tmp_path: Path, port: int) -> Runtime:
    venues = (f"hl:\n  adapter: hyperliquid\n  testnet: true\n  ws_url: ws://127.0.0.1:{port}/ws\n"
              "  backoff_s: 0.01\n  credentials: {secret_key: HL_K, account_address: HL_A}\n")
    text = variant_text("NB_v1", {"window": 3, "entry_z": 50, "exit_z": 0.5, "long_only": False,
                                  "order_notional": 1000},
                        {"max_order_notional": 100000, "max_position_notional": 1000000, "max_daily_loss": 100000},
                        venue="hl", instruments=("ETH",), data="{bars: 1m}")
    home = make_home(tmp_path / "desk", venues, variants={"NB_v1": text}).path
    return Runtime(home, Ledger(default_url(home)), load_venues(home), load_runner_config(home))


def rest_book(hl: FakeHyperliquid, at: float, mid: float) -> None:
    """The venue's REST ``l2Book`` as of venue time ``at``."""
    hl.info["l2Book"] = l2("ETH", int(at * 1000), f"{mid - 0.1:.1f}", f"{mid + 0.1:.1f}")["data"]


def candle_reads(hl: FakeHyperliquid) -> int:
    return sum(1 for _, body in hl.requests if body.get("type") == "candleSnapshot")


def bars_status(rt: Runtime) -> dict:  # type: ignore[type-arg]
    rt.periodic.publish_streams()  # the status row the runner writes every second
    (acct,) = status_view(rt.ledger)["accounts"]
    (bars,) = acct["bars"]
    return bars  # type: ignore[no-any-return]


def check_parity(rt: Runtime, live_bars: int) -> None:
    (session,) = (rt.home / "state" / "recordings").iterdir()
    (v,) = parity(session, load_venues(rt.home))["variants"]
    assert v["events"] == live_bars and v["share"] == 1.0, v["divergences"]


def test_a_candle_socket_that_refuses_gets_bars_built_from_books_each_once_at_its_close(
        tmp_path: Path, hl: FakeHyperliquid) -> None:
    with refusing_port() as port:
        rt = runtime(tmp_path, port)
        rt.start()
        try:
            assert rt.streams.seen["NB_v1"] == 3  # pre-seeded from candleSnapshot
            reads = candle_reads(hl)
            handed = []
            for at, mid in ((T0 + 5, 1890.1), (T0 + 30, 1890.4), (T0 + 59, 1890.6), (T0 + 61, 1891.0),
                            (T0 + 61, 1891.0), (T0 + 90, 1891.2), (T0 + 119.5, 1891.4), (T0 + 120.5, 1891.8),
                            (T0 + 150, 1892.0), (T0 + 181, 1892.6)):
                rest_book(hl, at, mid)
                rt.step()
                handed.append(rt.streams.seen["NB_v1"])
            # each bar at the first book after its close (no grace, no poll), once
            assert handed == [3, 3, 3, 4, 4, 4, 4, 5, 5, 6]
            assert candle_reads(hl) == reads  # no REST candle read per closed bar
            status = rt.adapters["hl"].stream_status()
            assert status["stream"] != "live" and status.get("connects", 0) == 0  # the socket never came up
            bars = bars_status(rt)
            assert (bars["instrument"], bars["timeframe_s"]) == ("ETH", 60)
            assert (bars["source"], bars["candles"]) == ("books", "down")
            assert bars["last_bar_close"] == "2023-11-14T22:16:00Z" and not bars["late"]  # T0 + 180
        finally:
            rt.stop()
            rt.ledger.close()
    assert recorded_bars(rt.home) == [(T0 - 180, 1887.0), (T0 - 120, 1888.0), (T0 - 60, 1889.0),  # warm-up
                                      (T0, 1890.6), (T0 + 60, 1891.4), (T0 + 120, 1892.0)]  # built: mid at close
    check_parity(rt, 3)


def test_the_bars_switch_to_the_candles_when_the_socket_comes_up_and_back_when_it_goes(
        tmp_path: Path, hl: FakeHyperliquid) -> None:
    with refusing_port() as port:
        rt = runtime(tmp_path, port)
        rt.start()
        for at, mid in ((T0 + 5, 1890.1), (T0 + 61, 1891.0)):
            rest_book(hl, at, mid)
            rt.step()
    try:
        assert rt.streams.seen["NB_v1"] == 4  # minute 0 built from books at its close

        def steps_until(seen: int, what: str) -> None:
            def stepped() -> bool:
                rt.step()
                return rt.streams.seen.get("NB_v1", 0) >= seen
            eventually(stepped, 30.0, what)

        with WsServer(hl_reply, port=port) as venue:  # the socket comes up (after a backoff)
            eventually(lambda: venue.sent(lambda m: (m.get("subscription") or {}).get("type") == "candle"),
                       30.0, "the candle subscription")
            venue.send(l2("ETH", (T0 + 100) * 1000, "1891.0", "1891.2"))
            venue.send({"channel": "candle", "data": candle(1, 1891.3)})  # minute 1 in progress
            for _ in range(3):
                rt.step()
            assert rt.streams.seen["NB_v1"] == 4
            venue.send(l2("ETH", (T0 + 121) * 1000, "1892.0", "1892.2"))
            venue.send({"channel": "candle", "data": candle(2, 1892.4)})  # minute 1 closed
            steps_until(5, "minute 1 from the candle stream")
            bars = bars_status(rt)
            assert (bars["source"], bars["candles"]) == ("candles", "live")
            venue.send(l2("ETH", (T0 + 150) * 1000, "1892.5", "1892.7"))
            eventually(lambda: rt.adapters["hl"].book("ETH").ts == T0 + 150, what="the streamed book")
            rt.step()
        # the server is gone: the port refuses again, mid minute 2
        rest_book(hl, T0 + 181, 1893.0)
        steps_until(6, "minute 2 built from books")
        for _ in range(3):
            rt.step()
        assert rt.streams.seen["NB_v1"] == 6
        bars = bars_status(rt)
        assert (bars["source"], bars["candles"]) == ("books", "down")
    finally:
        rt.stop()
        rt.ledger.close()
    assert recorded_bars(rt.home) == [(T0 - 180, 1887.0), (T0 - 120, 1888.0), (T0 - 60, 1889.0),
                                      (T0, 1890.1),  # built from books: the one book inside it
                                      (T0 + 60, 1891.3),  # the candle's close, once
                                      (T0 + 120, 1892.6)]  # built: the streamed book at T0 + 150, once
    check_parity(rt, 3)


def test_a_drop_inside_the_grace_hands_the_built_bar_of_that_period_once_and_the_candles_resume_after() -> None:
    """The feed's side, step by step: the candle of a period the stream had not closed at the drop
    (it was in its 2 s grace) never comes while down; the builder's bar of that period goes at the
    drop. Back live, REST history repeats periods already built (skipped), the candles go on."""
    from runner.kinds.base import MarketEvent
    from runner.marketdata.feed import Feed
    from venues.base import Candle

    venue: dict[float, list[Candle]] = {}
    state = {"live": True, "via": "stream"}

    def closed_bars(sym: str, tf: int, now: float, after: float | None) -> list[Candle]:
        return [c for c in venue.pop(now, []) if after is None or c.ts + tf > after]

    feed, key, got = Feed(), ("bars", 60), []

    def book(at: float, mid: float) -> list[tuple[float, float]]:
        ev = MarketEvent(at, "ETH", mid - 0.1, mid + 0.1, (1.0,), (1.0,), 0.0, bid_prices=(mid - 0.1,),
                         ask_prices=(mid + 0.1,))
        fetched = feed.fetch_native("acct", ev, [key], closed_bars, lambda s, tf: (state["live"], state["via"]))
        feed.update("acct", ev, [key], fetched=fetched)
        out = [(e.ts, e.bid) for e in feed.events("acct", "ETH", key)]
        got.extend(out)
        return out

    def source() -> tuple[str, str, float]:
        (s,) = feed.sources("acct")
        return s["source"], s["candles"], s["last_end"]

    book(T0 + 10, 100.0)
    book(T0 + 50, 101.0)
    assert book(T0 + 61, 102.0) == []  # the builder closed minute 0; the candle is in its grace
    state["live"] = False  # the stream drops before the candle closed
    assert book(T0 + 61.5, 102.1) == [(T0 + 60, 101.0)]  # minute 0 built: the mid at its close
    assert source() == ("books", "down", T0 + 60)
    assert book(T0 + 121, 103.0) == [(T0 + 120, 102.1)]  # minute 1 built at its close
    state.update(live=True, via="rest")  # back: REST history repeats minutes 0 and 1
    venue[T0 + 130] = [Candle(T0, 100, 101, 99, 100.7), Candle(T0 + 60, 101, 103, 101, 102.5)]
    assert book(T0 + 130, 103.2) == []
    state["via"] = "stream"
    venue[T0 + 181] = [Candle(T0 + 120, 103, 104, 102, 104.0)]
    assert book(T0 + 181, 104.5) == [(T0 + 180, 104.0)]  # minute 2: the candle, not the built bar
    assert source() == ("candles", "live", T0 + 180)
    assert book(T0 + 182, 104.6) == []
    assert [ts for ts, _ in got] == [T0 + 60, T0 + 120, T0 + 180]  # each once


def test_a_socket_live_for_books_whose_candle_channel_stays_silent_gets_bars_built_from_books(
        tmp_path: Path, hl: FakeHyperliquid) -> None:
    """Books stream, the candle subscription is acked but no candle ever comes (refused, or a socket
    of its own that is down, as OKX's business one): the bars are built from the streamed books."""
    with WsServer(hl_reply) as venue:
        rt = runtime(tmp_path, venue.port)
        rt.start()
        try:
            rt.step()
            eventually(lambda: venue.sent(lambda m: (m.get("subscription") or {}).get("type") == "candle"),
                       what="the candle subscription")
            seen = []
            for at, mid in ((T0 + 5, 1890.0), (T0 + 40, 1890.4), (T0 + 61, 1891.0), (T0 + 121, 1892.0)):
                venue.send(l2("ETH", at * 1000, f"{mid - 0.1:.1f}", f"{mid + 0.1:.1f}"))
                eventually(lambda at=at: rt.adapters["hl"].book("ETH").ts == at, what=f"the book at {at}")
                rt.step()
                seen.append(rt.streams.seen["NB_v1"])
            assert seen == [3, 3, 4, 5]  # each bar at the first book after its close
            assert rt.adapters["hl"].stream_status()["stream"] == "live"
            bars = bars_status(rt)
            assert (bars["source"], bars["candles"]) == ("books", "down")
        finally:
            rt.stop()
            rt.ledger.close()
    assert recorded_bars(rt.home)[3:] == [(T0, 1890.4), (T0 + 60, 1891.0)]
