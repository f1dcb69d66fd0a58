"""Watch strategies.d (watchfiles / inotify) and ask the runtime to rescan on any change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path


class StrategiesWatcher:
    def __init__(self, directory: Path, on_change: Callable[[], None]) -> None:
        self.directory = directory
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="strategies-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from watchfiles import watch

        for _changes in watch(self.directory, stop_event=self._stop, debounce=50, step=20,
                              raise_interrupt=False, yield_on_timeout=False):
            self.on_change()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
