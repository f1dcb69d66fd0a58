"""The dashboard overview's latency (for ``bench/cli_bench.py``): time to first byte over HTTP
and time to fully rendered in headless Chromium (the navigation's load event), p50 and p90."""

from __future__ import annotations

import http.client
import time
from pathlib import Path


def ttfb(port: int, path: str = "/") -> tuple[float, float]:
    """(first byte, whole body) in seconds for one GET on loopback."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    conn.request("GET", path)
    res = conn.getresponse()  # returns once the status line and headers are in
    first = time.perf_counter() - t0
    res.read()
    whole = time.perf_counter() - t0
    conn.close()
    assert res.status == 200, res.status
    return first, whole


def rendered(port: int, calls: int, path: str = "/") -> list[float]:
    """Navigation start to the load event (HTML, CSS, script, inline SVG), in a fresh page each time."""
    from playwright.sync_api import sync_playwright

    from tests.kit.browser import launch

    out = []
    with sync_playwright() as p:
        b = launch(p)
        for _ in range(calls):
            page = b.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}{path}", wait_until="load")
            ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            out.append(ms / 1000.0)
            page.close()
        b.close()
    return out


def dashboard_rows(home: Path, calls: int) -> list[tuple[str, list[float]]]:
    from tests.kit.browser import free_port, missing_browser, start_dashboard, stop

    port = free_port()
    proc = start_dashboard(home, port)
    try:
        ttfb(port)  # the first request pays for the lazy imports: reported apart, not in the p50
        samples = [ttfb(port) for _ in range(calls)]
        rows = [("dashboard overview: first byte", [s[0] for s in samples]),
                ("dashboard overview: whole page", [s[1] for s in samples])]
        if missing_browser() is None:
            rows.append(("dashboard overview: rendered in Chromium", rendered(port, calls)))
        return rows
    finally:
        stop(proc)
