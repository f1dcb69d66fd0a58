"""The report's equity curve, rebuilt after the run from its fills and the data's mids, ends
where the backtest's own metrics end, in the account's currency (Kalshi cents included)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gen_data import bars, binary
from runner.engine.backtest import backtest_instruments, bind_streams
from runner.ledger.store import Ledger, default_url
from runner.money import unit_scale
from runner.readmodels.backtests import backtest_run, backtest_runs
from runner.spec.deployment_config import load_venues
from runner.spec.load import load_variant
from runner.viz.report import data_prices, exit_reasons, report_doc

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sample, make", [
    ("MR_v13", lambda p: bars(p / "d.csv", 3000, 30_000.0, seed=5)),
    ("Kalshi-sum_v1", lambda p: binary(p / "d.jsonl", ["KXSIM-A", "KXSIM-B"], 6, 120, seed=9)),
])
def test_the_rebuilt_equity_curve_ends_at_the_runs_final_equity(tmp_path, sample, make) -> None:
    (tmp_path / "strategies.d").mkdir()
    shutil.copy(REPO / "strategies.d" / f"{sample}.yaml", tmp_path / "strategies.d")
    (tmp_path / "state").mkdir()
    make(tmp_path)
    data = str(next(tmp_path.glob("d.*")))
    path = tmp_path / "strategies.d" / f"{sample}.yaml"
    res = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "backtest", str(path), "--data", data,
                          "--json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["fills"] > 0, "the sample should trade on this data"
    apart = tmp_path / "state" / "backtests.db"  # where a deployment keeps runs apart, if it does
    led = Ledger(f"sqlite:///{apart}" if apart.exists() else default_url(tmp_path), create=False)
    try:
        assert [r["run_id"] for r in backtest_runs(led)] == [out["run_id"]]
        run = backtest_run(led, out["run_id"])
        assert run is not None and len(run["fills_rows"]) >= out["fills"]  # settlements are fills too
        venues = load_venues(tmp_path)
        loaded = load_variant(path, venues)
        prices, legs = data_prices(loaded, bind_streams(loaded, [data]))
        scale = {s: float(unit_scale(i.quote)) for s, i in backtest_instruments(loaded, venues).items()}
        scale.update({leg: 0.01 for leg in legs})  # Kalshi legs are quoted in cents
        assert legs == ({"KXSIM-A:yes", "KXSIM-A:no", "KXSIM-B:yes", "KXSIM-B:no"} if "Kalshi" in sample else set())
        doc = report_doc(run, prices, scale)
    finally:
        led.close()
    final = out["metrics"]["final_equity"]
    assert doc["equity"][-1][1] == pytest.approx(final, rel=1e-9, abs=1e-6)
    assert doc["equity"][0][1] == pytest.approx(out["metrics"]["capital"], abs=50.0)
    assert sum(exit_reasons(run["fills_rows"]).values()) + sum(
        1 for f in run["fills_rows"] if f["purpose"] in ("entry", "quote")) == len(run["fills_rows"])
