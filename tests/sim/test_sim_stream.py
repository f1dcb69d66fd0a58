"""The sim streams through the same interface as the venues: each market step pushes its book,
``book()`` serves it, a dropped stream falls back to the computed (REST-like) book, and with
that refused too the variant gets ``StaleDataError``, never an old book."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import StaleDataError
from venues.base import AccountConfig
from venues.sim.adapter import SimAdapter, create
from venues.streams.events import StreamEventKind as K


def sim(tmp_path: Path, **settings: object) -> SimAdapter:
    v = create(AccountConfig("sim", "sim", {"clock": "manual", **settings}, home=tmp_path))
    v.connect()
    return v


def kinds(v: SimAdapter) -> list[K]:
    return [e.kind for e in v.stream_events()]


def test_off_by_default_the_sim_computes_each_book(tmp_path: Path) -> None:
    v = sim(tmp_path)
    assert v.book("BTC-USD").bids and v.stream_status()["stream"] == "off"
    assert v.stream_events() == []


def test_a_streaming_sim_pushes_each_steps_book_and_book_serves_it(tmp_path: Path) -> None:
    v = sim(tmp_path, stream=True)
    first = v.book("BTC-USD", depth=3)  # subscribes; the current step was computed on request
    assert v.stream_status()["stream"] == "live" and K.CONNECTED in kinds(v)
    v.advance(1)
    hit = v.feed.cache.get("BTC-USD")  # type: ignore[union-attr]
    assert hit is not None and hit[0].bids != first.bids  # the step pushed a new book
    v.faults.append("down:book")  # REST refused: only the pushed book can answer
    assert v.book("BTC-USD", depth=3).bids == hit[0].bids[:3]
    v.close()


def test_a_dropped_stream_falls_back_then_is_stale_when_rest_is_refused_too(tmp_path: Path) -> None:
    v = sim(tmp_path, stream=True)
    v.book("BTC-USD")
    v.advance(1)
    assert kinds(v) == [K.CONNECTED]
    v.faults.append("stream:down")
    computed = v.book("BTC-USD")  # REST-like while the stream is down
    assert computed.bids and kinds(v) == [K.DISCONNECTED]
    v.faults.append("down:book")
    with pytest.raises(StaleDataError, match="stale market data for BTC-USD: stream down"):
        v.book("BTC-USD")
    v.faults.remove("stream:down")
    v.faults.remove("down:book")
    v.book("BTC-USD")
    assert kinds(v) == [K.RECONNECT, K.CONNECTED]
    assert v.feed.fills_due()  # type: ignore[union-attr]  # a reconnect wakes the REST fill read
    v.close()



def test_a_variant_on_a_stale_stream_skips_and_stays_active(tmp_path: Path) -> None:
    """Through the real runtime: a stream down with REST refused too is a `stale_data` skip for
    every variant on it, never an old book and never a lifecycle trouble (no backoff, no
    quarantine however long it lasts); the variant goes on as soon as the stream is back."""
    from runner.lifecycle import State
    from tests.kit.desk import variant_yaml
    from tests.kit.home import SIM_MANUAL, drive, make_home

    home = make_home(tmp_path, SIM_MANUAL + "  stream: true\n", variants={"MR_v13": variant_yaml("MR_v13")})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    try:
        rt.start()
        drive(rt, 6)
        eng = rt.engines["MR_v13"]
        assert eng.state is State.ACTIVE
        v = rt.adapters["sim"]
        v.faults.extend(["stream:down", "down:book"])  # type: ignore[attr-defined]
        drive(rt, 40)
        assert eng.state is State.ACTIVE and not eng.troubles
        rt.stop()
        assert ledger.skips(variant="MR_v13").get("stale_data", 0) >= 40
        assert [t.to_state for t in ledger.transitions("MR_v13") if t.from_state == "active"] == []
    finally:
        ledger.close()
