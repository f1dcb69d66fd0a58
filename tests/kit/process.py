"""A `runner run` subprocess on a temporary deployment, and polling helpers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FAST_SIM = "sim:\n  adapter: sim\n  seed: 11\n  tick_interval_s: 0.05\n"
FAST_RUNNER = "loop_interval_s: 0.05\n"
# Scheduled audits once a year: a test about something else is not quarantined by an audit
# that reads the venue while a busy strategy's order is in flight.
QUIET_AUDITS = "audits: {all: '0 0 1 1 *', reconcile: '0 0 1 1 *'}\n"


def cli(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=timeout)


def cli_json(home: Path, *args: str) -> dict[str, Any]:
    res = cli(home, *args, "--json")
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def start_runner(home: Path, *extra: str, max_s: float = 300, log_name: str = "runner.log") -> subprocess.Popen[str]:
    """Start `runner run`, its output in ``home/log_name``; it stops by itself after ``max_s``
    even if a test forgets it."""
    log = open(home / log_name, "a")  # noqa: SIM115 - closed with the process
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "runner", "--home", str(home), "run", "--duration", str(max_s), *extra],
                            stdout=log, stderr=subprocess.STDOUT, text=True, env=env)


def stop_runner(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(pred: Callable[[], bool], timeout: float = 20.0, every: float = 0.05) -> float:
    """Poll until ``pred()``; returns the seconds it took. Fails the test on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")
