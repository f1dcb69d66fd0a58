"""Regenerate the dashboard screenshots in docs/dashboard/ (PNG, 1200 px wide).

    .venv/bin/python scripts/dashboard_screenshots.py [--out docs/dashboard] [--seconds 75]

A fresh deployment of the shipped samples on the sim, plus MR_v12 (so MR_v13's page has a
diff), one backtest with its report, a pause with a reason and a `retire --abandon` (a
standing finding); `runner run` and `runner serve` in subprocesses, headless Chromium from
/usr/bin/chromium. Everything started here is stopped before it returns.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gen_data import bars  # noqa: E402
from tests.kit.browser import free_port, launch, start_dashboard, stop  # noqa: E402
from tests.kit.process import QUIET_AUDITS, cli, cli_json, start_runner, stop_runner, wait_for  # noqa: E402

MR_V12_CHANGES = {"entry_z: 1.25": "entry_z: 1.5", "version: 13": "version: 12", "exit_z: 0.5": "exit_z: 0.25"}


def build(home: Path, seconds: float) -> tuple[object, str]:
    shutil.copytree(ROOT / "strategies.d", home / "strategies.d")
    mr = (ROOT / "strategies.d" / "MR_v13.yaml").read_text()
    for a, b in MR_V12_CHANGES.items():
        mr = mr.replace(a, b)
    (home / "strategies.d" / "MR_v12.yaml").write_text(mr)
    (home / "runner.yaml").write_text(QUIET_AUDITS)
    data = home / "btc_bars.csv"
    bars(data, 5000, 30_000.0, seed=7)
    res = cli(home, "backtest", str(home / "strategies.d" / "MR_v13.yaml"), "--data", str(data), "--report",
              str(home / "report.html"))
    assert res.returncode == 0, res.stderr
    run_id = re.search(r"run (bt-[0-9a-f]+)", res.stdout).group(1)  # type: ignore[union-attr]
    runner = start_runner(home)
    wait_for(lambda: sum(v["state"] == "active" for v in cli_json(home, "status")["variants"]) >= 5, 120, 1.0)
    wait_for(lambda: any(v["position"] for v in cli_json(home, "status")["variants"] if v["id"] == "MR_v12"),
             seconds * 4, 1.0)
    cli(home, "retire", "MR_v12", "--abandon", "--reason", "superseded by MR_v13")
    wait_for(lambda: any(v["state"] == "retired" for v in cli_json(home, "status")["variants"] if v["id"] == "MR_v12"),
             60, 0.5)
    cli(home, "pause", "imbalance-scalper_v1", "--reason", "spread too wide overnight")
    cli(home, "audit")  # records the abandoned exposure (and whatever else it finds); changes no state
    time.sleep(seconds)
    return runner, run_id


def shrink(path: Path) -> None:
    """256 colours are plenty for flat tables and charts: a third of the bytes in the repository."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def shoot(base: str, out: Path, run_id: str) -> None:
    from playwright.sync_api import sync_playwright

    pages = {"overview": "/", "variant": "/variant/MR_v13", "findings": "/findings", "dust": "/dust",
             "runs": "/runs", "run": f"/runs/{run_id}"}
    with sync_playwright() as p:
        b = launch(p)
        page = b.new_page(viewport={"width": 1200, "height": 900})
        for name, path in pages.items():
            page.goto(base + path)
            page.wait_for_timeout(500)
            height = min(page.evaluate("document.documentElement.scrollHeight"), 1600)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True,
                            clip={"x": 0, "y": 0, "width": 1200, "height": height})
            shrink(out / f"{name}.png")
            print(f"{out / name}.png")
        b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard")
    ap.add_argument("--seconds", type=float, default=75.0, help="trading time before the pictures")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="runner-screens-"))
    runner = dash = None
    try:
        runner, run_id = build(home, args.seconds)
        port = free_port()
        dash = start_dashboard(home, port)
        shoot(f"http://127.0.0.1:{port}", args.out, run_id)
    finally:
        if dash is not None:
            stop(dash)
        if runner is not None:
            stop_runner(runner)  # type: ignore[arg-type]
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
