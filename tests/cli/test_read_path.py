"""The lean read path: read commands import no ORM, no pydantic and no venue SDK; today's PnL from
checkpoints equals the full fold exactly; positions equal the sum of fills; PostgreSQL ledgers
read the same; backtest runs live in state/backtests.db and `runner runs` lists, shows, deletes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ou_bars import write_bars
from runner.ledger.models import MAIN_RUN, Deployment
from runner.ledger.paths import backtests_url, default_url
from runner.ledger.positions import derive, realized_on_day
from runner.ledger.store import Ledger, NewFill
from runner.readmodels.db import ReadDB
from runner.readmodels.today import realized_today
from tests.kit.process import cli, cli_json

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "ccxt", "alpaca", "hyperliquid", "anthropic", "apprise", "psycopg")
NOW = datetime.now(UTC)


def _deploy(led: Ledger, variant: str) -> None:
    led.record_deployment(Deployment(variant=variant, name=variant.split("_")[0], version=1, kind="mean_reversion",
                                     venue="sim", mode="paper", content_hash="x", yaml_text="", path=f"{variant}.yaml"),
                          "active")


def _fills(n: int, variants: list[str], seed: int, start: datetime, span: timedelta, key: str) -> list[NewFill]:
    """Random buys and sells (flips included) over ``span``, with odd decimals."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        v = variants[i % len(variants)]
        sym = "BTC-USD" if rnd.random() < 0.7 else "ETH-USD"
        qty = Decimal(rnd.randint(1, 400)) / Decimal(1000)
        price = Decimal(30000 + rnd.randint(-900, 900)) + Decimal(rnd.randint(0, 99)) / 100
        out.append(NewFill(f"{key}-{i}", None, MAIN_RUN, v, "sim", sym, rnd.choice(("buy", "sell")), qty, price,
                           Decimal(rnd.randint(0, 300)) / Decimal(10000), start + span * (i / n)))
    return out


def _expected_today(led: Ledger, variant: str) -> Decimal:
    """The definition: every fill of the variant folded in id order, today's realized PnL net of fees."""
    rows = [(f.instrument, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee,
             f.ts if f.ts.tzinfo else f.ts.replace(tzinfo=UTC)) for f in led.fills(MAIN_RUN, variant, limit=None)]
    return realized_on_day(rows, NOW.date().isoformat())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A deployment whose ledger holds 3,000 fills over three days, today's included, and a late fill."""
    (tmp_path / "strategies.d").mkdir()
    led = Ledger(default_url(tmp_path))
    for v in ("A_v1", "B_v1"):
        _deploy(led, v)
    led.apply_fills(_fills(3000, ["A_v1", "B_v1"], 1, NOW - timedelta(days=2), NOW - (NOW - timedelta(days=2))
                           - timedelta(seconds=5), "f"))
    led.apply_fills(_fills(3, ["A_v1"], 2, NOW - timedelta(days=1, hours=1), timedelta(minutes=1), "late"))
    led.close()
    return tmp_path


def test_read_commands_import_no_orm_pydantic_or_sdk(home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for cmd in (["status"], ["status", "--json"], ["events"], ["fills"], ["positions"], ["guards"], ["dust"],
                ["findings"], ["runs"], ["watch", "--once"], ["fills", "--variant", "A_v1", "--limit", "3"]):
        res = subprocess.run([sys.executable, "-X", "importtime", "-m", "runner", "--home", str(home), *cmd],
                             capture_output=True, text=True, env=env, timeout=60)
        assert res.returncode == 0, (cmd, res.stderr[-800:])
        loaded = {line.split("|")[-1].strip().split(".")[0] for line in res.stderr.splitlines()
                  if line.startswith("import time:")}
        assert not loaded & set(HEAVY), (cmd, sorted(loaded & set(HEAVY)))


def test_todays_pnl_from_checkpoints_equals_the_full_fold_exactly(home: Path) -> None:
    cache = home / "state" / "cache" / "today.json"
    one = lambda _sym: Decimal(1)  # noqa: E731
    led = Ledger(default_url(home))
    want = {v: _expected_today(led, v) for v in ("A_v1", "B_v1")}
    assert all(want.values())  # both traded today: a zero would prove nothing
    db = ReadDB.open(default_url(home))
    try:
        assert realized_today(db, one, cache) == want  # the first call folds everything and checkpoints
        doc = json.loads(cache.read_text())
        assert doc["variants"]["A_v1"]["count"] == len(led.fills(MAIN_RUN, "A_v1", limit=None))
        assert realized_today(db, one, cache) == want  # from the checkpoint: nothing after it
        # more fills, today's and one dated yesterday that arrives late: folded from the checkpoint
        led.apply_fills(_fills(40, ["A_v1", "B_v1"], 3, NOW - timedelta(seconds=4), timedelta(seconds=3), "more"))
        led.apply_fills(_fills(1, ["B_v1"], 4, NOW - timedelta(days=1), timedelta(seconds=1), "late2"))
        want = {v: _expected_today(led, v) for v in ("A_v1", "B_v1")}
        assert realized_today(db, one, cache) == want
        # a fill removed below a checkpoint (the ledger is not what was folded): the fold starts over
        with led.begin() as conn:
            conn.exec_driver_sql("DELETE FROM fills WHERE fill_key = 'f-10'")
        want = {v: _expected_today(led, v) for v in ("A_v1", "B_v1")}
        assert realized_today(db, one, cache) == want
        assert realized_today(db, one, None) == want  # no cache at all: the same answer
    finally:
        db.close()
        led.close()


def test_status_and_positions_agree_with_the_fills(home: Path) -> None:
    led = Ledger(default_url(home))
    status = cli_json(home, "status")
    positions = cli_json(home, "positions")["positions"]
    for v in ("A_v1", "B_v1"):
        fills = led.fills(MAIN_RUN, v, limit=None)
        for sym in ("BTC-USD", "ETH-USD"):
            mine = [f for f in fills if f.instrument == sym]
            d = derive((1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts) for f in mine)
            (row,) = [p for p in positions if p["variant"] == v and p["instrument"] == sym]
            assert Decimal(repr(row["qty"])) == d.qty  # exactly the sum of its fills
            assert row["realized_pnl"] == pytest.approx(float(d.realized_pnl - d.fees))
        (sv,) = [x for x in status["variants"] if x["id"] == v]
        assert sv["pnl_today"] == pytest.approx(float(_expected_today(led, v)))  # nothing marked: no unrealized
    led.close()
    text = cli(home, "status").stdout
    assert "A_v1" in text and "B_v1" in text
    again = cli_json(home, "status")  # from the checkpoint this time
    assert [v["pnl_today"] for v in again["variants"]] == [v["pnl_today"] for v in status["variants"]]


def test_a_postgresql_ledger_reads_the_same(pg_url: str, tmp_path: Path) -> None:
    led = Ledger(pg_url)
    for v in ("A_v1", "B_v1"):
        _deploy(led, v)
    led.apply_fills(_fills(300, ["A_v1", "B_v1"], 5, NOW - timedelta(days=1), timedelta(days=1) - timedelta(seconds=5),
                           "pg"))
    led.write_transition("A_v1", "active", "paused", "pause", "operator", "test", "operator")
    want = {v: _expected_today(led, v) for v in ("A_v1", "B_v1")}
    db = ReadDB.open(pg_url)
    try:
        assert realized_today(db, lambda _s: Decimal(1), tmp_path / "today.json") == want
        assert not (tmp_path / "today.json").exists()  # no checkpoints on PostgreSQL
    finally:
        db.close()
    for cmd in (["status"], ["events"], ["fills"], ["positions"], ["guards"], ["dust"], ["findings"]):
        res = cli(tmp_path, "--db", pg_url, *cmd, "--json")
        assert res.returncode == 0, (cmd, res.stderr)
    doc = json.loads(cli(tmp_path, "--db", pg_url, "status", "--json").stdout)
    assert [(v["id"], v["state"]) for v in doc["variants"]] == [("A_v1", "paused"), ("B_v1", "active")]
    assert len(json.loads(cli(tmp_path, "--db", pg_url, "fills", "--json", "--limit", "0").stdout)["fills"]) == 300
    events = json.loads(cli(tmp_path, "--db", pg_url, "events", "A_v1", "--json").stdout)["events"]
    assert events[-1]["to"] == "paused" and events[-1]["actor"] == "operator"
    led.close()


def test_backtest_runs_are_stored_apart_listed_shown_and_deleted(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "bars.csv", 3000)
    sample = REPO / "strategies.d" / "MR_v13.yaml"
    (tmp_path / "strategies.d").mkdir()
    reports = []
    for _ in range(2):
        out = cli(tmp_path, "backtest", str(sample), "--data", str(bars), "--json")
        assert out.returncode == 0, out.stderr
        reports.append(json.loads(out.stdout))
    doc = cli_json(tmp_path, "runs")
    listed = doc["runs"]
    assert sorted(r["run_id"] for r in listed) == sorted(r["run_id"] for r in reports)
    assert doc["session"] is None  # no paper/live session recorded here yet
    sess = tmp_path / "state" / "recordings" / "20261129T101500Z"
    sess.mkdir(parents=True)
    (sess / "session.json").write_text("{}")
    assert cli_json(tmp_path, "runs")["session"] == sess.name  # runs names the current session
    assert f"recording session {sess.name}" in cli(tmp_path, "runs").stdout
    first = reports[0]
    shown = cli_json(tmp_path, "runs", "show", first["run_id"])
    assert shown["metrics"] == first["metrics"] and shown["fills"] == first["fills"] and shown["variant"] == "MR_v13"
    fills = cli_json(tmp_path, "fills", "--run", first["run_id"], "--limit", "0")["fills"]
    assert len(fills) == first["fills"]
    # the live ledger holds none of it
    live = Ledger(default_url(tmp_path))
    with live.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM fills").scalar() == 0
    live.close()
    assert cli(tmp_path, "runs", "delete", first["run_id"]).returncode == 0
    assert [r["run_id"] for r in cli_json(tmp_path, "runs")["runs"]] == [reports[1]["run_id"]]
    bt = Ledger(backtests_url(tmp_path))
    with bt.engine.connect() as conn:
        for table in ("fills", "orders", "positions", "runs", "skips"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE run_id = ?",
                                        (first["run_id"],)).scalar() == 0, table
        assert conn.exec_driver_sql("SELECT count(*) FROM fills").scalar() == reports[1]["fills"]
    bt.close()
    again = cli(tmp_path, "runs", "delete", first["run_id"])
    assert again.returncode == 2 and "unknown run id" in again.stderr
    text = cli(tmp_path, "runs").stdout
    assert reports[1]["run_id"] in text and first["run_id"] not in text


def test_progress_reads_how_far_a_process_has_read(tmp_path: Path) -> None:
    from runner.cli import progress

    data = tmp_path / "d.csv"
    data.write_bytes(b"x" * 100_000)
    other = tmp_path / "e.csv"
    other.write_bytes(b"y" * 50_000)
    files = [str(data.resolve()), str(other.resolve())]
    sizes = {f: os.stat(f).st_size for f in files}
    with open(data, "rb", buffering=0) as fh:
        fh.read(40_000)
        assert progress.read_progress(os.getpid(), files, sizes) == 40_000
    assert progress.read_progress(os.getpid(), files, sizes) == 100_000  # read, then closed: all of it
    assert progress.start([data], "x") is None  # stderr is not a terminal here: no bar


def test_open_statuses_and_fast_options_stay_in_step(home: Path) -> None:
    from runner.cli.fastparams import install
    from runner.ledger.order_states import OPEN
    from runner.readmodels.status import OPEN as READ_OPEN

    assert set(READ_OPEN) == OPEN
    assert install()  # Typer's internals are the ones the shim knows: options skip pydantic
    bad = cli(home, "fills", "--limit", "many")
    assert bad.returncode == 2 and "'many' is not a valid integer" in bad.stderr
    assert len(cli_json(home, "fills", "--limit", "7")["fills"]) == 7


def test_watch_once_draws_what_status_shows_within_80_columns(home: Path) -> None:
    res = cli(home, "watch", "--once")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("runner: stopped")
    assert any(line.startswith("A_v1") for line in lines) and any(line.startswith("B_v1") for line in lines)
    assert "* not being run: no runner is running" in lines
    assert max(len(line) for line in lines) <= 80
    bad = cli(home, "watch", "--interval", "0.1")
    assert bad.returncode == 2 and "--interval" in bad.stderr


def test_a_run_stored_in_the_live_ledger_before_the_move_is_still_read(tmp_path: Path) -> None:
    from runner.engine.backtest import run_backtest
    from runner.spec.load import load_variant

    (tmp_path / "strategies.d").mkdir()
    bars = write_bars(tmp_path / "bars.csv", 1000)
    loaded = load_variant(REPO / "strategies.d" / "MR_v13.yaml")
    live = Ledger(default_url(tmp_path))
    res = run_backtest(loaded, [("BTC-USD", bars)], live)  # as `runner backtest` stored runs before
    live.close()
    fills = cli_json(tmp_path, "fills", "--run", res.run_id, "--limit", "0")["fills"]
    assert len(fills) == res.fills > 0
    assert cli_json(tmp_path, "fills")["fills"] == []  # the paper/live book is untouched
    assert [r["run_id"] for r in cli_json(tmp_path, "runs")["runs"]] == [res.run_id]
    assert cli_json(tmp_path, "runs", "show", res.run_id)["fills"] == res.fills
    assert cli(tmp_path, "runs", "delete", res.run_id).returncode == 0  # cleared out of the live ledger
    assert cli_json(tmp_path, "runs")["runs"] == []
    assert cli(tmp_path, "fills", "--run", res.run_id).returncode == 2
