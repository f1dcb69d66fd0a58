"""An account thread steps on the loop's interval, or at once when its stream brings a book;
a fault in a step is reported and the thread goes on; a stop ends it with its last act."""

from __future__ import annotations

from runner.engine.account_workers import AccountWorker, Wake
from tests.kit.wsserver import eventually
from venues.base import BookSnapshot
from venues.streams.book import BookCache


def test_a_streamed_book_wakes_the_account_thread_long_before_its_interval() -> None:
    cache = BookCache()
    steps: list[int] = []
    worker = AccountWorker("a", lambda _a: steps.append(cache.version), 60.0, print,
                           wake=lambda _a: Wake(lambda: cache.version,
                                                lambda seen, t: cache.wait(lambda: cache.version != seen, t)))
    worker.start()
    try:
        eventually(lambda: steps == [0], what="the first step")
        cache.put(BookSnapshot("ETH", 1.0, [(99.0, 1.0)], [(101.0, 1.0)]))
        eventually(lambda: steps == [0, 1], what="a step for the new book (the interval is 60 s)")
    finally:
        worker.stop(clean=False)
        cache.put(BookSnapshot("ETH", 2.0, [(99.0, 1.0)], [(101.0, 1.0)]))  # ends the wait
        assert worker.join(5)


def test_a_failing_step_is_reported_and_the_thread_goes_on_and_a_clean_stop_runs_the_last_act() -> None:
    said: list[str] = []
    calls: list[str] = []

    def step(account: str) -> None:
        calls.append(account)
        if len(calls) == 1:
            raise ValueError("a bug")

    worker = AccountWorker("a", step, 0.01, said.append, on_stop=lambda a: calls.append(f"stop {a}"))
    worker.start()
    eventually(lambda: len(calls) >= 3, what="steps after the fault")
    worker.stop(clean=True)
    assert worker.join(5)
    assert said == ["a: trading step failed: ValueError: a bug"]
    assert calls[-1] == "stop a"


def test_an_account_thread_keeps_the_transition_it_just_made_over_the_control_threads_older_copy(tmp_path) -> None:
    """The control thread reads the states, then the account thread quarantines a variant:
    the account thread's next step must not adopt the older copy and undo it in memory."""
    from runner.engine.account_workers import AccountWorkers
    from runner.lifecycle import State, Trigger
    from tests.kit.desk import Desk

    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    eng = d.rt.engines["MR_v1"]
    assert eng.state is State.ACTIVE
    d.rt.workers = AccountWorkers(d.rt._account_step, 1.0, print)  # thread mode, threads not started
    try:
        d.rt._control(d.now)  # the control thread's copy: active
        d.rt.life.fire(eng, Trigger.QUARANTINE, "rejected", "refused by the venue")  # on the account thread
        d.rt._account_step("sim")
        assert eng.state is State.QUARANTINED
        assert d.ledger.state("MR_v1").state == "quarantined"  # type: ignore[union-attr]
    finally:
        d.rt.workers = None
        d.rt.stop()
        d.ledger.close()
