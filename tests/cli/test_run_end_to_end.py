"""`runner run` in a subprocess, then the ledger read back through the CLI's --json."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from runner.ledger.store import Ledger, default_url
from tests.kit.home import mr_yaml
from tests.kit.process import start_runner, stop_runner, wait_for
from tests.kit.runner_time import within_heartbeats

FAST_SIM = "sim:\n  adapter: sim\n  seed: 11\n  tick_interval_s: 0.05\n"


def runner(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=timeout)


def _out(home: Path) -> str:
    """What `runner run` printed (start_runner sends it to runner.log)."""
    path = home / "runner.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_run_trades_and_the_cli_reads_back_consistent_fills_and_positions(tmp_path) -> None:
    (tmp_path / "strategies.d").mkdir()
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml())
    (tmp_path / "venues.yaml").write_text(FAST_SIM)
    (tmp_path / "runner.yaml").write_text("loop_interval_s: 0.05\n")
    # run until it has traded (not for a fixed time: a loaded machine can spend that starting),
    # then a clean stop (SIGTERM, as Ctrl-C or --duration end it)
    proc = start_runner(tmp_path)
    try:
        wait_for(lambda: " fill " in _out(tmp_path) or proc.poll() is not None, timeout=120, every=0.2)
    finally:
        stop_runner(proc)
    assert proc.returncode == 0, _out(tmp_path)[-3000:]
    out = _out(tmp_path)
    assert "warming -> active" in out and " fill " in out
    assert " order buy " in out or " order sell " in out  # printed once sent

    fills = json.loads(runner(tmp_path, "fills", "--json", "--limit", "0").stdout)["fills"]
    positions = json.loads(runner(tmp_path, "positions", "--json").stdout)["positions"]
    status = json.loads(runner(tmp_path, "status", "--json").stdout)
    assert fills, "the sample should have traded"
    assert {"variant", "instrument", "side", "qty", "price", "fee", "ts", "order_id"} <= set(fills[0])
    net = sum(Decimal(str(f["qty"])) * (1 if f["side"] == "buy" else -1) for f in fills)
    (pos,) = positions
    assert Decimal(str(pos["qty"])) == net
    assert {"variant", "instrument", "qty", "avg_price", "realized_pnl", "unrealized_pnl", "dust"} <= set(pos)
    (v,) = status["variants"]
    assert v["id"] == "MR_v13" and v["state"] == "active" and v["position"] == float(net)
    assert {"id", "kind", "venue", "mode", "state", "reason", "since", "position", "pnl"} <= set(v)
    events = json.loads(runner(tmp_path, "events", "MR_v13", "--json").stdout)["events"]
    assert [(e["from"], e["to"]) for e in events[:2]] == [("pending", "warming"), ("warming", "active")]

    # the sim venue, which keeps its own books, agrees with the ledger
    from venues.sim.adapter import SimAdapter
    from venues.sim.config import SimConfig

    sim = SimAdapter("sim", SimConfig(clock="manual"), tmp_path / "state" / "sim" / "sim.db")
    venue = {p.instrument: p.qty for p in sim.positions()}
    assert venue.get("BTC-USD", Decimal(0)) == net


def test_the_embedded_default_trades_within_its_first_30_seconds(tmp_path) -> None:
    """30 seconds of the runner's own running (its heartbeats), not of the wall clock: on a
    loaded machine its start alone can take much of that."""
    proc = start_runner(tmp_path)
    try:
        wait_for(lambda: " up: " in _out(tmp_path) or proc.poll() is not None, timeout=120, every=0.2)
        assert proc.poll() is None, _out(tmp_path)[-3000:]
        assert (tmp_path / "strategies.d" / "MR_v13.yaml").exists()
        led = Ledger(default_url(tmp_path))
        within_heartbeats(led, lambda: bool(led.fills(variant="MR_v13", limit=1)), 30, proc.pid)
        led.close()
    finally:
        stop_runner(proc)
    assert proc.returncode == 0, _out(tmp_path)[-3000:]
    fills = json.loads(runner(tmp_path, "fills", "--json", "--variant", "MR_v13").stdout)["fills"]
    assert fills, _out(tmp_path)[-3000:]


def test_bad_input_exits_2_and_writes_nothing(tmp_path) -> None:
    res = runner(tmp_path, "--db", "nosuch://x", "status")
    assert res.returncode == 2 and "cannot open ledger database" in res.stderr
    res = runner(tmp_path, "pause", "NOPE_v1")
    assert res.returncode == 2 and "no deployment here" in res.stderr  # an empty --home is not a deployment
    bad = tmp_path / "bars.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n1700000000,1,1,1,1,1\n1700000060,1,1,1,oops,1\n")
    (tmp_path / "strategies.d").mkdir(exist_ok=True)
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml().replace("{quotes: true}", "{bars: 1m}"))
    res = runner(tmp_path, "pause", "NOPE_v1")
    assert res.returncode == 2 and "unknown variant" in res.stderr
    res = runner(tmp_path, "backtest", str(tmp_path / "strategies.d" / "MR_v13.yaml"), "--data", str(bad))
    assert res.returncode == 2 and f"{bad}:3: bad bar row" in res.stderr
    runs = json.loads(runner(tmp_path, "status", "--json").stdout)
    assert runs["variants"] == []

    with Ledger(f"sqlite:///{tmp_path}/state/ledger.db").engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from runs")).scalar() == 0
        assert conn.execute(text("select count(*) from transitions")).scalar() == 0
