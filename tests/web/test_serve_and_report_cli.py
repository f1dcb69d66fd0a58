"""`runner serve` refusals and `runner backtest --report`, through the real CLI in a subprocess."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.gen_data import bars
from tests.kit.home import mr_yaml


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def _home(tmp_path: Path) -> Path:
    (tmp_path / "strategies.d").mkdir()
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml().replace("{quotes: true}", "{bars: 1m}"))
    (tmp_path / "state").mkdir()
    return tmp_path


def test_a_non_loopback_bind_without_a_token_is_refused_with_exit_2(tmp_path) -> None:
    home = _home(tmp_path)
    env = {"RUNNER_DASHBOARD_TOKEN": ""}
    res = _cli(home, "serve", "--host", "0.0.0.0", "--port", "1", env=env)
    assert res.returncode == 2 and "RUNNER_DASHBOARD_TOKEN" in res.stderr and "Traceback" not in res.stderr
    res = _cli(home, "serve", "--host", "0.0.0.0", env={"RUNNER_DASHBOARD_TOKEN": "short"})
    assert res.returncode == 2 and "too short" in res.stderr


def test_a_port_in_use_and_a_home_without_a_deployment_are_exit_2(tmp_path) -> None:
    home = _home(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        res = _cli(home, "serve", "--port", str(port))
    assert res.returncode == 2 and "cannot listen" in res.stderr and "Traceback" not in res.stderr
    res = _cli(tmp_path / "nowhere", "serve")
    assert res.returncode == 2 and "no deployment here" in res.stderr


def test_backtest_report_is_one_self_contained_html_file_with_the_pictures_and_metrics(tmp_path) -> None:
    home = _home(tmp_path)
    data = tmp_path / "bars.csv"
    bars(data, 3000, 30_000.0, seed=3)
    out = tmp_path / "report.html"
    res = _cli(home, "backtest", str(home / "strategies.d" / "MR_v13.yaml"), "--data", str(data), "--report", str(out))
    assert res.returncode == 0, res.stderr
    html = out.read_text()
    run_id = re.search(r"run (bt-[0-9a-f]+)", res.stdout).group(1)  # type: ignore[union-attr]
    assert run_id in html
    for part in ('id="metrics"', 'id="equity-chart"', 'id="price-chart"', "Exit reasons", "Skip reasons",
                 "drawdown", "no_signal"):
        assert part in html, part
    assert html.count("<svg") >= 4 and "<path" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from anywhere
    assert "<script" not in html
    # the dashboard's run page shows the same report, its prices read again from the same file
    from starlette.testclient import TestClient

    from runner.ledger.store import default_url
    from runner.readmodels.readonly import open_readonly
    from runner.web.app import create_app

    led = open_readonly(default_url(home))
    with TestClient(create_app(home, led)) as c:
        page = c.get(f"/runs/{run_id}").text
        assert run_id in c.get("/runs").text
    led.close()
    metrics = re.search(r'<div class="card kv" id="metrics">.*?</div>\n</div>', html, re.S)
    assert metrics is not None and metrics.group(0) in page
    assert "Prices: the mids of the data files" in html and "Prices: the mids of the data files" in page
    bad = _cli(home, "backtest", str(home / "strategies.d" / "MR_v13.yaml"), "--data", str(data),
               "--report", str(tmp_path / "no" / "such" / "dir" / "r.html"))
    assert bad.returncode == 2 and "--report" in bad.stderr and "Traceback" not in bad.stderr
    assert _backtest_runs(home) == 1  # the bad --report was refused before the run


def _backtest_runs(home: Path) -> int:
    """Runs stored, wherever the deployment keeps them (the live ledger or state/backtests.db)."""
    n = 0
    for name in ("ledger.db", "backtests.db"):
        if (home / "state" / name).exists():
            con = sqlite3.connect(home / "state" / name)
            try:
                n += con.execute("SELECT COUNT(*) FROM runs WHERE kind = 'backtest'").fetchone()[0]
            except sqlite3.OperationalError:  # no runs table in this file
                pass
            con.close()
    return n
