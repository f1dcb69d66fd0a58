"""Watch strategies.d (watchfiles / inotify) and read what changed off the trading loop.

Reading and validating files happens on this thread, so a large or slow file never takes the
trading loop's time; the runtime only applies the finished result. Writes are debounced, and
a file still changing while it was read (an editor's truncate-then-write) is read again once
it has settled.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEBOUNCE_MS = 150  # a burst of writes (truncate, write, chmod) is one change
SETTLE_TRIES = 5


def _stamps(directory: Path) -> dict[str, tuple[int, int]]:
    out = {}
    try:
        with os.scandir(directory) as it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                out[entry.name] = (st.st_mtime_ns, st.st_size)
    except OSError:
        pass
    return out


def read_settled(directory: Path, read: Callable[[], Any]) -> Any:
    """``read()`` until the directory did not change while it ran (bounded tries)."""
    result = None
    for _ in range(SETTLE_TRIES):
        before = _stamps(directory)
        result = read()
        if _stamps(directory) == before:
            break
        time.sleep(DEBOUNCE_MS / 1000)
    return result


class StrategiesWatcher:
    """On any change: ``deliver(read())`` from this thread, or ``on_change()`` if no reader is given."""

    def __init__(self, directory: Path, on_change: Callable[[], None] | None = None,
                 read: Callable[[], Any] | None = None, deliver: Callable[[Any], None] | None = None) -> None:
        self.directory = directory
        self.on_change = on_change
        self.read = read
        self.deliver = deliver
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="strategies-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from watchfiles import watch

        for _changes in watch(self.directory, stop_event=self._stop, debounce=DEBOUNCE_MS, step=20,
                              raise_interrupt=False, yield_on_timeout=False):
            self._changed()

    def _changed(self) -> None:
        try:
            if self.read is not None and self.deliver is not None:
                self.deliver(read_settled(self.directory, self.read))
            elif self.on_change is not None:
                self.on_change()
        except Exception as exc:  # the watcher must outlive any one bad read
            self.errors.append(exc)
            if self.on_change is not None:
                self.on_change()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
