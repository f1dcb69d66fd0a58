"""The one word `runner status` shows for an account's stream follows the connection's own
events, not the REST resyncs and gaps recorded meanwhile."""

from __future__ import annotations

from runner.engine.stream_events import StreamBoard, stream_state
from venues.streams.events import StreamEvent, StreamEventKind

DOWN = {"stream": "connecting", "silent_s": 40.0, "stale_after_s": 30.0}


def _ev(kind: StreamEventKind) -> StreamEvent:
    return StreamEvent(1_700_000_000.0, "hl", kind, channel="candle", instrument="BTC")


def test_a_resync_during_an_outage_leaves_a_stale_stream_stale() -> None:
    board = StreamBoard()
    board.saw([_ev(StreamEventKind.STALE)])
    assert stream_state(DOWN, board.last_kind.get("hl")) == "stale"
    board.saw([_ev(StreamEventKind.RESYNC), _ev(StreamEventKind.GAP), _ev(StreamEventKind.ERROR)])
    assert stream_state(DOWN, board.last_kind.get("hl")) == "stale"  # was `reconnecting`
    board.saw([_ev(StreamEventKind.RECONNECT)])
    assert stream_state(DOWN, board.last_kind.get("hl")) == "reconnecting"
    board.saw([_ev(StreamEventKind.CONNECTED)])
    assert stream_state({"stream": "live", "silent_s": 0.1, "stale_after_s": 30.0}, board.last_kind["hl"]) == "connected"
