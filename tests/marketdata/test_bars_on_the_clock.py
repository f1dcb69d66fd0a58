"""Paper on the sim: a variant on 1-minute bars decides once per closed bar, warm from history."""

from __future__ import annotations

import time
from pathlib import Path

from runner.engine.runtime import Runtime
from runner.kinds.base import MarketEvent
from runner.marketdata.bars import BarBuilder
from tests.kit.home import make_home, variant_text
from tests.kit.venue_time import run as _run
from tests.kit.venue_time import runtime as _runtime


def _decisions(rt: Runtime, vid: str) -> int:
    rt.stop()
    return sum(rt.ledger.skips(variant=vid).values()) + len(rt.ledger.orders(variant=vid, limit=10_000))


def test_a_variant_on_1m_bars_decides_once_per_closed_bar_and_is_active_on_its_first_bar(tmp_path: Path) -> None:
    text = variant_text("MR_v5", {"window": 5, "entry_z": 1.0, "exit_z": 0.3, "obi_threshold": None,
                                  "long_only": False, "order_notional": 2000},
                        {"max_order_notional": 5000, "max_position_notional": 10000, "max_daily_loss": 5000},
                        data=None)  # the kind's default: 1-minute bars, warm-up from the venue
    home = make_home(tmp_path, variants={"MR_v5": text}).path
    t = [time.time()]
    rt = _runtime(home, t)
    minutes = _run(rt, t, 1)
    assert rt.engines["MR_v5"].state.value == "active"  # pre-seeded from the sim's candles: no live bar yet
    minutes |= _run(rt, t, 119)
    skips_live = dict(rt.engines["MR_v5"].skips)
    assert "warming" not in skips_live and "state_warming" not in skips_live
    first = _decisions(rt, "MR_v5")
    assert first == len(minutes) - 1  # one decision per closed bar (the last bar is still open)
    assert 0 < len(rt.ledger.orders(variant="MR_v5", limit=10_000)) < first  # it traded, not on every bar

    again = _runtime(home, t)  # a restart re-seeds from history: active before its first live bar
    seen = _run(again, t, 1)
    assert again.engines["MR_v5"].state.value == "active"
    seen |= _run(again, t, 30)
    assert _decisions(again, "MR_v5") - first == len(seen) - 1
    again.ledger.close()


def test_the_bar_builder_hands_each_bar_once_at_its_close_with_the_book_of_that_moment() -> None:
    b = BarBuilder("X", 60)
    snaps = [(0.0, 100.0, 5.0), (30.0, 102.0, 1.0), (59.0, 101.0, 7.0), (61.0, 99.0, 2.0), (200.0, 98.0, 3.0)]
    out = []
    for ts, mid, size in snaps:
        bar = b.push(MarketEvent(ts, "X", mid - 0.5, mid + 0.5, (size,), (1.0,), 1.0, bid_prices=(mid - 0.5,),
                                 ask_prices=(mid + 0.5,)))
        if bar is not None:
            out.append(bar)
    assert [(e.ts, e.open, e.bid, e.bid_sizes, e.volume) for e in out] == [
        (60.0, 100.0, 101.0, (7.0,), 3.0),  # 0..60: open 100, close 101, the book at 59 s
        (120.0, 99.0, 99.0, (2.0,), 1.0),  # 60..120 (a gap follows: 120..180 has no snapshot, no bar)
    ]


def test_a_book_stream_hands_a_change_at_once_and_an_unchanged_book_again_only_after_a_quiet_spell() -> None:
    """Book and quote kinds get an event per change, not per poll; a book that sits still is
    handed out again after QUIET_REPEAT_S of venue time, so timed duties (an orphan's sweep, a
    time-stop) are never starved by a quiet market."""
    from runner.marketdata.feed import QUIET_REPEAT_S, Feed
    from venues.base import BookSnapshot

    feed, key = Feed(), ("books", 5)

    def poll(ts: float, bid: float) -> MarketEvent | None:
        from runner.marketdata.feed import snapshot_event

        feed.update("acct", snapshot_event(BookSnapshot("X", ts, [(bid, 1.0)], [(bid + 1, 1.0)])), [key])
        return feed.event("acct", "X", key)

    assert poll(0.0, 100.0) is not None  # the first book
    assert poll(1.0, 100.0) is None  # unchanged: no event
    assert poll(2.0, 101.0) is not None  # a change: at once
    assert poll(2.0 + QUIET_REPEAT_S / 2, 101.0) is None
    again = poll(2.0 + QUIET_REPEAT_S, 101.0)
    assert again is not None and again.ts == 2.0 + QUIET_REPEAT_S and again.bid == 101.0
    assert poll(3.0 + QUIET_REPEAT_S, 101.0) is None  # the quiet spell starts over from the repeat


def test_status_shows_warming_n_of_w_for_a_variant_warming_on_live_bars(tmp_path: Path) -> None:
    import json

    from tests.kit.process import cli

    text = variant_text("MR_v6", {"window": 8, "entry_z": 1.0, "exit_z": 0.3, "obi_threshold": None,
                                  "long_only": False, "order_notional": 2000},
                        {"max_order_notional": 5000, "max_position_notional": 10000, "max_daily_loss": 5000},
                        data="{bars: 1m, warmup: live}")  # no pre-seeding: it warms on live bars
    home = make_home(tmp_path, variants={"MR_v6": text}).path
    t = [time.time()]
    rt = _runtime(home, t)
    _run(rt, t, 5 * 4 + 1)  # four 1-minute bars closed, at 12 s a step
    assert rt.engines["MR_v6"].state.value == "warming"
    doc = json.loads(cli(home, "status", "--json").stdout)
    (v,) = doc["variants"]
    assert v["state"] == "warming" and v["warming"]["need"] == 8 and 3 <= v["warming"]["have"] <= 5
    assert f"warming {v['warming']['have']}/8" in cli(home, "status").stdout
    _run(rt, t, 5 * 6)  # past eight bars: active, and no progress left to show
    assert rt.engines["MR_v6"].state.value == "active"
    (v,) = json.loads(cli(home, "status", "--json").stdout)["variants"]
    assert v["state"] == "active" and v["warming"] is None
    rt.stop()
