"""Where a sweep's backtests run: one small interface, so a cluster engine can replace the pool.

An executor takes a picklable function and its jobs and yields ``(index, result)`` as each job
finishes (any order). :class:`InlineExecutor` runs them one after another in this process;
:class:`ProcessExecutor` spreads them over a process pool (forked where that is safe, as the
backtest's writer is: Linux and a single thread; else forkserver, so a multi-threaded host such
as the running runner never forks its threads' locks).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol


class Executor(Protocol):
    workers: int

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Run ``fn(job)`` for every job; yield (index of the job, its result) as each completes."""
        ...


class InlineExecutor:
    workers = 1

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for i, job in enumerate(jobs):
            yield i, fn(job)


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")


class ProcessExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """At most ``workers`` jobs in flight; the pool is shut down whatever happens (Ctrl-C too)."""
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)) or 1, mp_context=_context())
        try:
            pending: dict[Future[Any], int] = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def executor_for(workers: int | None) -> Executor:
    n = default_workers() if workers is None else workers
    return InlineExecutor() if n <= 1 else ProcessExecutor(n)
