"""The dashboard in a real browser (headless Chromium, Playwright) against a deployment that
is trading: a `runner run` subprocess on the sim and `runner serve` beside it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.browser import free_port, launch, missing_browser, start_dashboard, stop
from tests.kit.home import mr_yaml
from tests.kit.process import FAST_RUNNER, FAST_SIM, QUIET_AUDITS, cli, cli_json, start_runner, stop_runner, wait_for

WHY = missing_browser()
if WHY and os.environ.get("CI"):
    raise RuntimeError(f"the browser tests must run in CI: {WHY}")
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")
HOSTILE = "<script>window.pwned=1</script>"
PAGES = ("/", "/variant/MR_v13", "/findings", "/dust", "/runs")


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[tuple[Path, str]]:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("desk")
    (home / "strategies.d").mkdir()
    (home / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml())
    (home / "strategies.d" / "MR_v14.yaml").write_text(mr_yaml(version=14))
    (home / "venues.yaml").write_text(FAST_SIM)
    (home / "runner.yaml").write_text(FAST_RUNNER + QUIET_AUDITS)
    runner = start_runner(home)
    port = free_port()
    dash = None
    try:
        wait_for(lambda: any(v["state"] == "active" for v in cli_json(home, "status")["variants"]), timeout=90,
                 every=0.5)
        wait_for(lambda: bool(cli_json(home, "fills")["fills"]), timeout=90, every=0.5)
        dash = start_dashboard(home, port)
        yield home, f"http://127.0.0.1:{port}"
    finally:
        if dash is not None:
            stop(dash)
        stop_runner(runner)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def test_every_page_loads_without_console_errors_and_the_overview_shows_the_trading_variants(desk, browser) -> None:
    home, base = desk
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    for path in PAGES:
        res = page.goto(base + path)
        assert res is not None and res.status == 200, path
    page.goto(base + "/")
    rows = page.locator("#variants tr[data-variant]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.variant)")) == ["MR_v13", "MR_v14"]
    assert page.locator("#runner").get_attribute("data-state") == "running"
    page.wait_for_selector("#live[data-refreshed]", state="attached", timeout=15_000)  # a live refresh came
    assert errors == []
    page.close()


def test_a_chart_renders_with_content(desk, browser) -> None:
    _home, base = desk
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(base + "/variant/MR_v13")
    # measured in one script run: the live refresh swaps the fragment in between two separate
    # Playwright calls (on a loaded machine), and a detached chart has no box
    boxes, drawn = page.evaluate("""() => {
        const box = sel => { const e = document.querySelector(sel);
                             if (!e) { return null; } const r = e.getBoundingClientRect();
                             return {width: r.width, height: r.height}; };
        const paths = [...document.querySelectorAll("#price-chart svg path")];
        return [{price: box("#price-chart svg"), equity: box("#equity-chart svg")},
                paths.filter(p => { const b = p.getBBox(); return b.width > 50 || b.height > 50; }).length];
    }""")
    for chart, box in boxes.items():
        assert box is not None and box["width"] > 200 and box["height"] > 80, (chart, box)
    # the price line and the fill markers are drawn paths, not an empty frame
    assert drawn >= 1
    page.close()


def test_the_overview_follows_a_pause_from_the_cli_without_a_reload_and_shows_the_reason_as_text(desk, browser
                                                                                                 ) -> None:
    home, base = desk
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(base + "/")
    page.evaluate("window.sameDocument = 'yes'")
    assert page.locator('tr[data-variant="MR_v14"]').get_attribute("data-state") == "active"
    res = cli(home, "pause", "MR_v14", "--reason", HOSTILE)
    assert res.returncode == 0, res.stderr
    page.wait_for_selector('tr[data-variant="MR_v14"][data-state="paused"]', timeout=30_000)
    assert page.evaluate("window.sameDocument") == "yes"  # updated in place, never reloaded
    assert HOSTILE in page.locator('tr[data-variant="MR_v14"] td.why').inner_text()  # shown, as text
    assert page.evaluate("window.pwned") is None
    page.goto(base + "/variant/MR_v14")
    assert HOSTILE in page.locator("#transitions").inner_text()
    assert page.evaluate("window.pwned") is None
    assert "MR_v13 → MR_v14" in page.content()
    page.close()
