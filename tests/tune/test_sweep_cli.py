"""`runner sweep` end to end (a real process, the real engine, a process pool): the best cell of a
grid built into the data is found out of sample, the winner is written as the next version into
candidates/ and validates, and a grid over anything but params is refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kit.home import SIM_MANUAL, make_home
from tests.kit.process import cli
from tests.kit.regimes import hourly_mr_text, write_regime_bars


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_regime_bars(tmp_path_factory.mktemp("data") / "regimes.csv")


def _home(tmp_path: Path, runner_yaml: str | None = None) -> Path:
    return make_home(tmp_path / "home", SIM_MANUAL, runner_yaml, {"MR_v13": hourly_mr_text(60)}).path


def test_the_sweep_finds_the_window_the_data_was_built_for_and_writes_it_as_the_next_version(
        tmp_path: Path, bars: Path) -> None:
    home = _home(tmp_path)
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=4,30,60,240", "--workers", "2",
              "--write", "--json", timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) >= {"base", "candidates", "winner"}
    assert doc["winner"]["params"] == {"window": 30}
    ranked = doc["candidates"]
    assert ranked[0]["params"] == {"window": 30} and ranked[0]["passes_gate"]
    for c in ranked:
        assert set(c) >= {"params", "metrics", "in_sample", "out_of_sample", "passes_gate"}
        assert c["metrics"] == c["out_of_sample"]
    current = next(c for c in ranked if c["params"] == {"window": 60})
    assert current["current"] and not current["passes_gate"]
    assert doc["base"]["out_of_sample"] == current["out_of_sample"]
    wide = next(c for c in ranked if c["params"] == {"window": 240})
    assert {f["inequality"] for f in wide["gate"]["fails"]} >= {"sharpe", "trades"}
    best, cur = ranked[0]["out_of_sample"], current["out_of_sample"]
    assert best["sharpe"] > cur["sharpe"] + 0.1 and best["trades"] >= 60
    assert doc["workers"] == 2 and doc["jobs"] == 8  # 4 cells (the current among them) x in/out of sample

    written = home / "candidates" / "MR_v14.yaml"
    assert doc["winner"]["written"] == str(written)
    assert not (home / "strategies.d" / "MR_v14.yaml").exists()
    text = written.read_text()
    assert "version: 14\n" in text and "  window: 30\n" in text
    assert "obi_threshold: 0.0       # as the source" in text  # comments and layout kept
    assert "# Mean reversion on the sim venue's BTC-USD" in text
    ok = cli(home, "validate", "--offline", str(written))
    assert ok.returncode == 0, ok.stderr
    side = json.loads((home / "candidates" / "MR_v14.sweep.json").read_text())
    assert side["from"] == "MR_v13" and side["params"] == {"window": 30}
    # the sweep kept metrics only: no backtest run, no ledger, in the deployment
    assert not (home / "state" / "ledger.db").exists()

    again = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=30", "--workers", "1", "--write",
                timeout=300)
    assert again.returncode == 0, again.stderr
    assert (home / "candidates" / "MR_v15.yaml").exists()  # never overwrites an earlier candidate
    lines = again.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert any("PASS *" in line and "window=30" in line for line in lines)


def test_no_winner_writes_nothing_and_exits_1_naming_the_failed_inequalities(tmp_path: Path, bars: Path) -> None:
    home = _home(tmp_path)
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=4,240", "--workers", "1", "--write",
              timeout=300)
    assert res.returncode == 1, res.stderr
    assert not (home / "candidates").exists()
    rows = {line.split()[1]: line for line in res.stdout.splitlines() if "window=" in line}
    assert "x shp" in rows["window=240"] and "trd" in rows["window=240"]
    assert "nothing written" in res.stdout


def test_the_gate_comes_from_runner_yaml(tmp_path: Path, bars: Path) -> None:
    home = _home(tmp_path, "promotion_gate:\n  min_trades: 100000\n")
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=30", "--workers", "1", "--json",
              timeout=300)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["winner"] is None and doc["gate"]["min_trades"] == 100000
    assert [f["inequality"] for f in doc["candidates"][0]["gate"]["fails"]] == ["trades"]

    (home / "runner.yaml").write_text("loop_interval_s: 0.2\npromotion_gate:\n  min_trade: 10\n")
    bad = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=30")
    assert bad.returncode == 2 and "runner.yaml:3" in bad.stderr and "min_trade" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_walk_forward_judges_every_fold_out_of_sample(tmp_path: Path, bars: Path) -> None:
    home = _home(tmp_path)
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=30,60", "--walk-forward", "2",
              "--workers", "1", "--json", timeout=300)
    assert res.returncode in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    assert doc["method"]["walk_forward"] == 2 and doc["jobs"] == 8
    for c in doc["candidates"]:
        assert len(c["folds"]) == 2 and c["out_of_sample"]["folds"] == 2
        folds = c["folds"]
        assert c["out_of_sample"]["trades"] == sum(f["out_of_sample"]["trades"] for f in folds)
    f1, f2 = doc["method"]["folds"]
    assert f1["out_of_sample"][0] == f2["in_sample"][0]  # fold 2 learns on what fold 1 was judged on
    picks = doc["method"]["selection"]
    assert [p["fold"] for p in picks] == [1, 2]
    for p in picks:  # the cell best in sample in that fold, with its figures on the next, unseen part
        chosen = next(c for c in doc["candidates"] if c["params"] == p["params"])
        fold = chosen["folds"][p["fold"] - 1]
        assert p["out_of_sample"]["trades"] == fold["out_of_sample"]["trades"]
        assert all((c["folds"][p["fold"] - 1]["in_sample"]["sharpe"] or -1e9) <= p["in_sample_sharpe"]
                   for c in doc["candidates"])


@pytest.mark.parametrize(("grid", "said"), [
    ("risk.max_order_notional=100,200", "'risk.max_order_notional' is not a param"),
    ("max_daily_loss=1,2", "unknown param 'max_daily_loss'"),
    ("venue=sim,other", "'venue' is not a param"),
    ("mode=live", "'mode' is not a param"),
    ("live=true", "'live' is not a param"),
    ("no_such=1,2", "unknown param 'no_such' of kind mean_reversion"),
    ("window=1,30", "window=1 is not valid for mean_reversion"),
    ("window=abc", "window='abc' is not valid"),
    ("window", "expected PARAM=V1,V2"),
])
def test_a_grid_over_anything_but_valid_params_is_refused(tmp_path: Path, bars: Path, grid: str, said: str) -> None:
    home = _home(tmp_path)
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "entry_z=1.0,1.5", "--grid", grid)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "--grid #2" in res.stderr and said in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not (home / "candidates").exists()


def test_combinations_the_kind_refuses_are_skipped_and_said(tmp_path: Path, bars: Path) -> None:
    home = _home(tmp_path)
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "entry_z=0.4,1.25", "--grid",
              "exit_z=0.5", "--workers", "1", "--json", timeout=300)
    assert res.returncode in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    assert doc["cells"] == 1 and doc["grid_cells"] == 2
    assert "exit_z" in doc["skipped"][0] and "entry_z=0.4" in doc["skipped"][0]


def test_a_cell_in_sample_is_exactly_what_runner_backtest_reports_on_the_same_bars(tmp_path: Path, bars: Path) -> None:
    home = _home(tmp_path)
    res = cli(home, "sweep", "MR_v13", "--data", str(bars), "--grid", "window=60", "--workers", "1", "--json",
              timeout=300)
    assert res.returncode == 1, res.stderr  # the current params alone: nothing to promote
    doc = json.loads(res.stdout)
    cut = doc["method"]["folds"][0]["in_sample"][1]
    rows = bars.read_text().splitlines()
    head = tmp_path / "in_sample.csv"
    head.write_text("\n".join([rows[0], *(r for r in rows[1:] if int(r.split(",")[0]) + 3600 < cut)]) + "\n")
    bt = cli(home, "backtest", str(home / "strategies.d" / "MR_v13.yaml"), "--data", str(head), "--json", timeout=300)
    assert bt.returncode == 0, bt.stderr
    want = json.loads(bt.stdout)["metrics"]
    got = doc["base"]["in_sample"]
    for key in ("total_return", "sharpe", "max_drawdown", "trades", "win_rate", "fees", "exposure"):
        assert got[key] == want[key], key
    assert got["trades"] > 60
