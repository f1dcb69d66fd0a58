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
