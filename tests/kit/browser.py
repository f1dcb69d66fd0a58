"""Headless Chromium from the Debian package, driven by Playwright, and `runner serve` in a
subprocess: shared by the browser tests, the screenshot script and the dashboard benchmark.

Playwright's own browser download is never used (``executable_path``); without
/usr/bin/chromium the browser tests skip locally and fail in CI (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = Path(os.environ.get("RUNNER_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e .[dev])"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    return None


def launch(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dashboard(home: Path, port: int, *extra: str, env: dict[str, str] | None = None
                    ) -> subprocess.Popen[str]:
    """`runner serve` on loopback; returns once it answers (or raises with its output)."""
    log = open(home / "serve.log", "a")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "runner", "--home", str(home), "serve", "--port", str(port), *extra],
                            stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        if proc.poll() is not None:
            raise AssertionError(f"runner serve exited {proc.returncode}: {(home / 'serve.log').read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/static/live.js", timeout=2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("runner serve did not answer within 60 s")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
