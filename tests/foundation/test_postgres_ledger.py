"""The PostgreSQL ledger path, against a real server (started by .ci/run on loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

from runner.ledger.store import Ledger, NewFill
from tests.kit.home import drive, make_home, mr_yaml


def test_ledger_schema_fills_and_transitions_on_postgres(pg_url: str) -> None:
    led = Ledger(pg_url)
    Ledger(pg_url)  # a second runner opening the same schema is fine
    t = datetime(2026, 1, 1, tzinfo=UTC)
    f = NewFill("sim:1", "c1", "main", "MR_v13", "sim", "BTC-USD", "buy", Decimal("0.024098"), Decimal("30000.5"),
                Decimal("0.01"), t)
    assert len(led.apply_fills([f])) == 1
    assert led.apply_fills([f]) == []
    (pos,) = led.positions()
    assert pos.qty == Decimal("0.024098") and pos.avg_price == Decimal("30000.5")


def test_a_runtime_trades_on_a_postgres_ledger_and_the_cli_reads_it(tmp_path, pg_url: str) -> None:
    home = make_home(tmp_path)
    home.add_variant("MR_v13.yaml", mr_yaml())
    led = Ledger(pg_url)
    rt = home.runtime(led)
    rt.start()
    drive(rt, 150)
    assert led.state("MR_v13").state == "active"  # type: ignore[union-attr]
    fills = led.fills()
    assert fills
    res = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "--db", pg_url, "positions", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    (pos,) = json.loads(res.stdout)["positions"]
    net = sum(f.qty * (1 if f.side == "buy" else -1) for f in fills)
    assert Decimal(str(pos["qty"])) == net
