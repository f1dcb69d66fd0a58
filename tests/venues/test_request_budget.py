"""The request budget of an account: the venue's published limits as token buckets, reads
stopped at a reserve that orders and cancels may still spend, a 429 closing reads for the
venue's hint, and the state readable as data. A manual clock: nothing here waits."""

from __future__ import annotations

import pytest

from runner.errors import TransientError
from venues.hyperliquid.client import item_weight, request_weight
from venues.ratelimit import KALSHI_TIERS, Limit, Priority, RequestBudget, published


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def hyperliquid(clock: Clock) -> RequestBudget:
    return RequestBudget("hl", published("hyperliquid"), clock=clock)


def test_book_polling_stops_at_the_reserve_of_the_published_hyperliquid_limit() -> None:
    clock = Clock()
    budget = hyperliquid(clock)
    books = 0
    with pytest.raises(TransientError) as info:
        while True:
            budget.spend(2)  # an l2Book weighs 2
            books += 1
    assert books == 480  # 1200 a minute, less the 20 % kept for orders, at weight 2
    # all spent at one instant: nothing leaves the rolling minute before a minute has passed
    assert info.value.retry_after == pytest.approx(60.0)
    for _ in range(180):  # orders still go: they may spend the reserve, less the cancels' share
        budget.spend(1, priority=Priority.ORDER)
    with pytest.raises(TransientError):
        budget.spend(1, priority=Priority.ORDER)
    for _ in range(60):  # and cancels go after a quoting storm spent the rest: a stop can always cancel
        budget.spend(1, priority=Priority.CANCEL)
    with pytest.raises(TransientError):
        budget.spend(1, priority=Priority.CANCEL)


def test_the_bucket_refills_at_the_published_rate() -> None:
    clock = Clock()
    budget = RequestBudget("a", {"rest": Limit(200, 60)}, clock=clock)
    for _ in range(160):
        budget.spend()
    with pytest.raises(TransientError):
        budget.spend()
    clock.t += 0.3  # 200 a minute: the bucket has one more call, but the rolling minute is full
    with pytest.raises(TransientError):
        budget.spend()
    clock.t += 60.0  # the first calls left the window
    budget.spend()


def test_a_rolling_minute_never_holds_more_than_the_published_limit() -> None:
    """A token bucket alone lets a full bucket and a minute of refill add up to twice the
    limit in one rolling minute; the window keeps it at the limit (a venue counting by the
    minute would answer 429 otherwise)."""
    clock = Clock()
    budget = RequestBudget("a", {"rest": Limit(200, 60, reserve=0.0)}, clock=clock)
    spent: list[float] = []
    for _ in range(1200):  # two minutes of demand at 10 Hz, three times the limit
        try:
            budget.spend()
            spent.append(clock.t)
        except TransientError:
            pass
        clock.t += 0.1
    worst = max(sum(1 for t in spent if start <= t < start + 60) for start in spent)
    assert worst <= 200
    assert len(spent) >= 2 * 200 * 0.95  # and over the two minutes it still spends about the limit


def test_a_429_closes_reads_for_the_venues_hint_until_an_answer_or_the_hint_passes() -> None:
    clock = Clock()
    budget = hyperliquid(clock)
    budget.penalize(5.0)
    with pytest.raises(TransientError) as info:
        budget.spend(2)
    assert info.value.retry_after == pytest.approx(5.0)
    budget.spend(1, priority=Priority.ORDER)  # a cancel is not held behind the gate
    clock.t += 5.0
    budget.spend(2)
    budget.penalize(5.0)
    budget.answered()  # a request went through: the ban is over
    budget.spend(2)


def test_call_closes_the_gate_on_a_rate_limit_error_and_not_on_other_transients() -> None:
    budget = hyperliquid(Clock())

    def limited() -> None:
        raise TransientError("429", retry_after=2.0)

    def down() -> None:
        raise TransientError("503")

    with pytest.raises(TransientError):
        budget.call(down)
    budget.spend(2)
    with pytest.raises(TransientError):
        budget.call(limited)
    with pytest.raises(TransientError, match="rate limited by the venue"):
        budget.spend(2)


def test_kalshi_reads_and_writes_are_separate_limits_of_the_tier() -> None:
    clock = Clock()
    budget = RequestBudget("k", KALSHI_TIERS["basic"], clock=clock)
    for _ in range(16):
        budget.spend(bucket="read")
    with pytest.raises(TransientError):
        budget.spend(bucket="read")
    for _ in range(10):
        budget.spend(bucket="write", priority=Priority.ORDER)
    assert KALSHI_TIERS["prime"]["read"].capacity == 400


def test_the_state_is_plain_data() -> None:
    clock = Clock()
    budget = hyperliquid(clock)
    budget.spend(2)
    budget.spend(20)
    budget.penalize(3.0)
    s = budget.status()
    rest = s["buckets"]["rest"]
    assert rest["capacity"] == 1200 and rest["spent_in_window"] == 22 and rest["requests"] == 2
    assert s["rate_limited"] == 1 and s["blocked_for_s"] == 3.0
    clock.t += 61
    assert budget.status()["buckets"]["rest"]["spent_in_window"] == 0


def test_scaling_leaves_headroom_for_other_clients() -> None:
    assert published("hyperliquid", scale=0.5)["rest"].capacity == 600
    assert published("sim") == {}


@pytest.mark.parametrize(("path", "payload", "weight", "priority"), [
    ("/info", {"type": "l2Book", "coin": "ETH"}, 2, Priority.READ),
    ("/info", {"type": "userFillsByTime"}, 20, Priority.READ),
    ("/info", {"type": "meta"}, 20, Priority.READ),
    ("/exchange", {"action": {"type": "order", "orders": [{}] * 79}}, 2, Priority.ORDER),
    ("/exchange", {"action": {"type": "cancelByCloid", "cancels": [{}]}}, 1, Priority.CANCEL),
])
def test_hyperliquid_weights_are_the_published_ones(path: str, payload: dict, weight: int, priority: Priority) -> None:
    assert request_weight(path, payload) == (weight, priority)


def test_a_hyperliquid_read_also_weighs_what_it_returned() -> None:
    clock = Clock()
    budget = hyperliquid(clock)
    assert item_weight({"type": "userFillsByTime"}, [{}] * 2000) == 100
    assert item_weight({"type": "candleSnapshot"}, [{}] * 120) == 2
    assert item_weight({"type": "l2Book"}, {"levels": []}) == 0
    budget.spend(20)
    budget.charge(item_weight({"type": "userFillsByTime"}, [{}] * 2000))
    assert budget.status()["buckets"]["rest"]["spent_in_window"] == 120


def test_the_lookup_that_finishes_a_hyperliquid_cancel_spends_at_the_cancels_priority() -> None:
    """Reads stop at the reserve; a cancel's follow-up lookup (info orderStatus) is part of the
    cancel, so with the reads' share spent it still goes (a clean stop must learn the outcome)."""
    from venues.hyperliquid.client import _budgeted_post, spent_as

    clock = Clock()
    budget = hyperliquid(clock)
    while True:  # the reads' share spent by book polling
        try:
            budget.spend(2)
        except TransientError:
            break
    sent: list[str] = []

    def post(path: str, payload: dict) -> dict:  # type: ignore[type-arg]
        sent.append(payload["type"])
        return {}

    with pytest.raises(TransientError):
        _budgeted_post(post, budget, "/info", {"type": "orderStatus"}, 1.0)
    with spent_as(Priority.CANCEL):
        _budgeted_post(post, budget, "/info", {"type": "orderStatus"}, 1.0)
    assert sent == ["orderStatus"]


def test_book_polls_are_paced_at_half_the_rate_and_leave_the_rest_to_fills_orders_and_cancels() -> None:
    """Polls get half the bucket's *rate*, with a 5 s burst, not half the bucket: they used to
    spend their half of the minute in the first seconds of a busy start and then find every
    poll refused until it left the rolling window (issue 12: no book for about 50 s)."""
    from venues.ratelimit import polling

    clock = Clock()
    budget = hyperliquid(clock)

    def polls() -> int:
        n = 0
        while True:
            try:
                with polling():
                    budget.spend(2)  # an l2Book read as the stream's REST fallback
            except TransientError as exc:
                assert exc.retry_after == pytest.approx(0.2)  # the next poll's turn, not the window's end
                return n
            n += 1

    assert polls() == 25  # 5 s of 600 weight a minute, at 2 each
    for _ in range(10):
        budget.spend(20)  # userFillsByTime: fills are still read
    per_second = []
    for _ in range(55):  # a minute of polling as fast as the budget lets: 5 books every second
        clock.t += 1.0
        per_second.append(polls())
    assert set(per_second) == {5}
    minute = budget.status()["buckets"]["rest"]
    assert minute["weight_last_min"] <= 1200  # within the venue's published limit
    for _ in range(5):
        budget.spend(20)  # fills still go after a minute of polling
    budget.spend(1, priority=Priority.ORDER)
    budget.spend(1, priority=Priority.CANCEL)


def test_a_hyperliquid_account_polling_books_by_rest_still_reads_its_fills() -> None:
    """The real SDK over faked HTTP, no stream: book polls until the budget says no, then a
    fill read goes through; the refused poll is stale data (a skip), not a venue failure."""
    import responses

    from runner.errors import BudgetError, StaleDataError
    from tests.venues.test_hyperliquid_fake import FakeHyperliquid, make_adapter
    from venues.streams.feed import AccountFeed

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeHyperliquid(rsps)
        ad = make_adapter(connect=False)
        ad.feed = AccountFeed("hl-test", RequestBudget("hl-test", published("hyperliquid")))
        ad.connect()
        with pytest.raises(StaleDataError) as refused:
            for _ in range(1000):
                ad.book("BTC")
        assert isinstance(refused.value.__cause__, BudgetError)
        books = sum(1 for _w, body in fake.requests if body.get("type") == "l2Book")
        # a 5 s burst of the polls' 600 weight a minute: 50, less the first book's metaAndAssetCtxs
        # (20), at 2 each (it refills meanwhile)
        assert 15 <= books <= 30
        ad.fills("0:")  # the fill cursor is read: its share was left alone
        assert fake.requests[-1][1]["type"] == "userFillsByTime"
        ad.close()


def test_without_a_stream_fill_reads_are_paced_within_a_quarter_of_the_budget_and_an_order_brings_one_early() -> None:
    from venues.streams.feed import AccountFeed

    clock = Clock()
    feed = AccountFeed("hl", hyperliquid(clock), fill_weight=20, clock=clock)  # userFillsByTime weighs 20
    assert feed.fill_poll_down_s == pytest.approx(4.0)  # 20 / (25 % of 20 a second)
    assert feed.fills_due()
    clock.t += 0.2
    assert not feed.fills_due()  # a 5 Hz loop does not read fills 5 times a second
    feed.order_sent()
    assert not feed.fills_due()  # not twice within half a second
    clock.t += 0.4
    assert feed.fills_due()  # the order's fills come on the next step, not 4 s later
    clock.t += 0.2
    assert not feed.fills_due()
    clock.t += 4.0
    assert feed.fills_due()


def test_variants_reading_from_different_cursors_are_read_in_the_same_pass_not_starved() -> None:
    """Two variants of one account whose fill cursors differ make one read each per pass. Paced
    one by one, the first read took the slot on every pass and the second was never made (its
    fills never booked); inside ``one_fill_pace`` (the runtime's pass) both are read or neither."""
    import responses

    from tests.venues.test_hyperliquid_fake import FakeHyperliquid, make_adapter
    from venues.streams.feed import AccountFeed, one_fill_pace

    def reads(fake) -> int:  # type: ignore[no-untyped-def]
        return sum(1 for _w, body in fake.requests if body.get("type") == "userFillsByTime")

    clock = Clock()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeHyperliquid(rsps)
        ad = make_adapter(connect=False)
        ad.feed = AccountFeed("hl-test", hyperliquid(clock), fill_weight=20, clock=clock)
        ad.connect()
        before = reads(fake)
        ad.fills("1000:")
        ad.fills("2000:")  # paced one by one: the second cursor's read is skipped
        assert reads(fake) - before == 1
        for _ in range(3):  # pass after pass, the second cursor is never read that way
            clock.t += 5.0
            ad.fills("1000:")
            ad.fills("2000:")
        assert reads(fake) - before == 4
        clock.t += 5.0
        with one_fill_pace():
            ad.fills("1000:")
            ad.fills("2000:")
        assert reads(fake) - before == 6  # both cursors in the same pass
        clock.t += 0.2
        with one_fill_pace():
            ad.fills("1000:")
            ad.fills("2000:")
        assert reads(fake) - before == 6  # and still paced: neither, 0.2 s later
        ad.close()
