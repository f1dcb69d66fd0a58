"""A progress bar on stderr for a long backtest, drawn by a watcher process, not the replay.

The replay must not pay for it: no call per bar, and no thread either (the backtest forks its
ledger writer only while the process has one thread; a thread would make it write inline,
about 15% slower). So `runner backtest` starts a small watcher process that reads, from
``/proc/<pid>/fdinfo``, how far the replay has read into its data files (bytes of the file on
disk, compressed or not) and draws a rich progress bar a few times a second. It shows nothing
for a run shorter than ``DELAY_S``, and is not started when stderr is not a terminal, with
``--json``, or where ``/proc`` is missing (then there is simply no bar).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

DELAY_S = 2.0  # a run shorter than this shows no bar
REFRESH_S = 0.25


def start(paths: list[Path], label: str, force: bool = False) -> subprocess.Popen[bytes] | None:
    """Start the watcher for this process reading ``paths``; None when no bar should be drawn."""
    if not force and not (sys.stderr.isatty() and Path(f"/proc/{os.getpid()}/fdinfo").is_dir()):
        return None
    files = [str(p.resolve()) for p in paths]
    try:
        return subprocess.Popen(
            [sys.executable, "-c", "from runner.cli.progress import main; main()", str(os.getpid()), label, *files],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": _path()})
    except OSError:
        return None


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _path() -> str:
    here = str(Path(__file__).resolve().parents[2])
    old = os.environ.get("PYTHONPATH")
    return f"{here}{os.pathsep}{old}" if old else here


def read_progress(pid: int, files: list[str], sizes: dict[str, int]) -> int:
    """Bytes read so far by ``pid`` across ``files``: the offset of each open one, the whole of
    one it opened and closed again (the readers open each file once and read it to the end)."""
    done = 0
    seen: set[str] = set()
    base = f"/proc/{pid}"
    try:
        fds = os.listdir(f"{base}/fd")
    except OSError:
        return -1
    for fd in fds:
        try:
            target = os.readlink(f"{base}/fd/{fd}")
        except OSError:
            continue
        if target in sizes and target not in seen:
            try:
                with open(f"{base}/fdinfo/{fd}") as f:
                    pos = int(f.readline().split()[1])
            except (OSError, ValueError, IndexError):
                continue
            seen.add(target)
            done += min(pos, sizes[target])
    for path in files:
        if path not in seen and path in _opened:
            done += sizes[path]  # read and closed
    _opened.update(seen)
    return done


_opened: set[str] = set()


def main() -> None:
    """The watcher: ``main PID LABEL FILE...`` (run by :func:`start`)."""
    import signal

    pid, label, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the backtest's to handle
    sizes = {}
    for f in files:
        try:
            sizes[f] = os.stat(f).st_size
        except OSError:
            pass
    total = sum(sizes.values()) or 1
    t0 = time.monotonic()
    while not stopping and time.monotonic() - t0 < DELAY_S:
        time.sleep(0.05)
    if stopping or not os.path.exists(f"/proc/{pid}"):
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True, auto_refresh=False) as bar:
        task = bar.add_task(label, total=total)
        while not stopping:
            done = read_progress(pid, files, sizes)
            if done < 0:
                break  # the backtest is gone
            bar.update(task, completed=done)
            bar.refresh()
            time.sleep(REFRESH_S)
