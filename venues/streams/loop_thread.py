"""One asyncio loop on its own daemon thread, for a stream whose SDK client is async.

The ccxt.pro and alpaca-py streams compose this: the trading thread starts it, asks it for
instruments and closes it; the stream's own coroutine runs on the loop until ``stop`` is set.
Nothing here knows a venue.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

Run = Callable[[threading.Event], Coroutine[Any, Any, None]]


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None  # set by close(); the stream's coroutine awaits it
        self._thread: threading.Thread | None = None
        self._wanted: set[str] = set()
        self._lock = threading.Lock()  # want() runs on the trading thread, the start on the loop's

    def start(self, run: Run) -> None:
        """Run ``run(ready)`` on the loop; returns once it set ``ready`` (at most 5 s)."""
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(run, ready), daemon=True, name=self.name)
        self._thread.start()
        ready.wait(5.0)

    def want(self, item: str, then: Callable[[str], None]) -> None:
        """Remember ``item``; once the loop runs, ``then(item)`` is called on it (once per item)."""
        with self._lock:
            if item in self._wanted:
                return
            self._wanted.add(item)
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(then, item)

    def wanted(self) -> list[str]:
        with self._lock:
            return sorted(self._wanted)

    def close(self, timeout: float = 5.0) -> None:
        loop, stop = self.loop, self.stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self, run: Run, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            loop.run_until_complete(self._go(run, ready))
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _go(self, run: Run, ready: threading.Event) -> None:
        self.stop = asyncio.Event()
        await run(ready)
