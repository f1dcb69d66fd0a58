"""Issue 12: a busy start must not refuse book polls for the better part of a minute.

Two causes, seen against the stand-in Hyperliquid (three variants, no stream, 0.2 s loop):
an account with no fill yet kept an empty fill cursor, and a read from no cursor was never
paced, so every step read ``userFillsByTime`` (weight 20, 100 a second against the 20 the
venue allows); and book polls stopped at half the *bucket*, which a start spends in seconds,
then found every poll refused until that left the rolling minute.
"""

from __future__ import annotations

import pytest
import responses

from runner.errors import StaleDataError, TransientError
from tests.venues.test_hyperliquid_fake import FakeHyperliquid, make_adapter
from tests.venues.test_request_budget import Clock, hyperliquid
from venues.ratelimit import RequestBudget, polling, published
from venues.streams.feed import AccountFeed


def test_an_account_with_no_fill_reads_its_history_once_at_start_then_paced() -> None:
    """The real SDK over faked HTTP, no stream: twenty steps of a 5 Hz loop on an account with
    no fill yet read the fill history at start (the start's truth, and the next step's read,
    as after any start), then at the fills' pace: not twenty times."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeHyperliquid(rsps)
        ad = make_adapter(connect=False)
        ad.feed = AccountFeed("hl-start", RequestBudget("hl-start", published("hyperliquid")), fill_weight=20)
        ad.connect()
        for _ in range(20):
            page = ad.fills(None)
            assert page.fills == [] and page.cursor is None  # nothing filled: the cursor stays empty
        reads = [b for _w, b in fake.requests if b.get("type") == "userFillsByTime"]
        assert len(reads) == 2
        ad.close()


def test_after_a_busy_start_books_are_polled_every_second_within_the_published_limit() -> None:
    clock = Clock()
    budget = hyperliquid(clock)
    for _ in range(10):
        budget.spend(20)  # the start: metadata, candles for warm-up, order lookups, fill reads
    passed = []
    for tick in range(5 * 60):  # a minute of a 5 Hz loop polling one book by REST, a fill read every 4 s
        clock.t += 0.2
        if tick % 20 == 0:
            try:
                budget.spend(20)
            except TransientError:
                pass  # refused near the minute's end: read on a later step
        try:
            with polling():
                budget.spend(2)
            passed.append(clock.t)
        except TransientError:
            pass
    seconds = sorted({int(t - 1000.0) for t in passed})
    # paced at half the rate: a book every second for the first 40 s (they used to stop after
    # about 20 s, until the start's spend left the rolling minute); the start's own 200 may
    # still cost the polls some seconds at the minute's end, never the rest of it
    assert set(range(40)) <= set(seconds)
    assert max(b - a for a, b in zip(seconds, seconds[1:], strict=False)) <= 15
    assert budget.status()["buckets"]["rest"]["weight_last_min"] <= 1200


def test_a_refused_poll_is_stale_data_with_the_next_turn_as_its_hint() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeHyperliquid(rsps)
        ad = make_adapter(connect=False)
        ad.feed = AccountFeed("hl-hint", RequestBudget("hl-hint", published("hyperliquid")))
        ad.connect()
        with pytest.raises(StaleDataError) as refused:
            for _ in range(100):
                ad.book("BTC")
        assert refused.value.retry_after is not None and refused.value.retry_after <= 0.2
        ad.close()
