"""`runner compare`: three versions built through the real engine (backtests of generated OU bars,
and paper fills on the sim), side by side; `--family` convergence both ways; bad ids exit 2."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ou_bars import write_bars
from runner.engine.backtest import run_backtest
from runner.ledger.store import Ledger, default_url
from runner.readmodels.compare import compare
from runner.spec.deployment_config import load_venues
from runner.spec.load import load_variant
from tests.kit.process import cli

REPO = Path(__file__).resolve().parents[2]
SAMPLE = (REPO / "strategies.d" / "MR_v13.yaml").read_text()
# fees zero: on this data the rule's edge before fees is positive, so the margins are too
ZERO_FEES = "sim:\n  adapter: sim\n  seed: 7\n  instruments:\n    BTC-USD: {maker_fee: 0, taker_fee: 0}\n"
VERSIONS = {  # close cousins 12-14 converge; 11 (entry 2.0, a 0.1% stop) wins far less often
    11: {"entry_z: 1.25": "entry_z: 2.0", "stop_loss_pct: 0.01": "stop_loss_pct: 0.001"},
    12: {"entry_z: 1.25": "entry_z: 1.5"},
    13: {},
    14: {"entry_z: 1.25": "entry_z: 1.4"},
}


def _variant(home: Path, version: int) -> Path:
    text = SAMPLE.replace("version: 13", f"version: {version}")
    for a, b in VERSIONS[version].items():
        text = text.replace(a, b)
    path = home / "candidates" / f"MR_v{version}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    home = tmp_path_factory.mktemp("cmp")
    (home / "venues.yaml").write_text(ZERO_FEES)
    (home / "strategies.d").mkdir()
    bars = write_bars(home / "ou.csv", 4000, seed=7)
    venues = load_venues(home)
    ledger = Ledger(default_url(home))
    runs = {}
    try:
        for v in (12, 13, 14):
            res = run_backtest(load_variant(_variant(home, v), venues), [("BTC-USD", bars)], ledger, venues)
            runs[v] = res
    finally:
        ledger.close()
    return {"home": home, "bars": bars, "runs": runs}


def test_three_runs_side_by_side_are_the_engines_numbers(desk: dict) -> None:  # type: ignore[type-arg]
    home, runs = desk["home"], desk["runs"]
    args = [a for v in (12, 13, 14) for a in ("--run", runs[v].run_id)]
    out = cli(home, "compare", *args, "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["variants"]
    assert [r["id"] for r in rows] == ["MR_v12", "MR_v13", "MR_v14"]
    ledger = Ledger(default_url(home))
    try:
        for r in rows:
            res = runs[r["version"]]
            m = res.metrics
            assert (r["trades"], r["win_rate"], r["fees"], r["sharpe"], r["max_drawdown"], r["time_in_market"]) == (
                m["trades"], m["win_rate"], m["fees"], m["sharpe"], m["max_drawdown"], m["exposure"])
            assert r["currency"] == "USD" and r["trades"] > 100
            fills = ledger.fills(res.run_id, limit=None)
            notional = sum(f.qty * f.price for f in fills)
            assert r["notional"] == pytest.approx(float(notional))
            assert r["pnl"] == pytest.approx(m["final_equity"] - m["capital"])
            assert r["margin"] == pytest.approx(r["pnl"] / float(notional))
    finally:
        ledger.close()
    text = cli(home, "compare", *args)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "PnL and fees in USD (the account currency)"
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert sum(1 for line in lines if line.startswith("MR_v1")) == 3


def test_family_converges_then_a_divergent_version_breaks_it(desk: dict) -> None:  # type: ignore[type-arg]
    home = desk["home"]
    first = json.loads(cli(home, "compare", "--family", "MR", "--json").stdout)["family"]
    assert first["versions"] == ["MR_v12", "MR_v13", "MR_v14"]
    assert first["converges"] is True and first["all_positive"] is True
    assert first["win_rate_spread"] <= 0.10 and first["margin_spread"] <= 0.0010
    # the same three judged more strictly: the stated threshold decides
    strict = json.loads(cli(home, "compare", "--family", "MR", "--win-spread", "0.001", "--json").stdout)["family"]
    assert strict["converges"] is False and "win rate spread" in strict["why"]

    venues = load_venues(home)
    ledger = Ledger(default_url(home))
    try:
        run_backtest(load_variant(_variant(home, 11), venues), [("BTC-USD", desk["bars"])], ledger, venues)
    finally:
        ledger.close()
    out = cli(home, "compare", "--family", "MR", "--since", "2020-09-13T12:26:40Z")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1] == "since 2020-09-13T12:26:40Z: round trips closed since, open ones marked"
    assert "4 version(s), 4 judged: do not converge" in out.stdout
    assert "win rate spread" in out.stdout and "> 10.0" in out.stdout
    assert all(len(line) <= 80 for line in out.stdout.splitlines())


def test_unknown_variant_run_or_family_is_bad_input(desk: dict) -> None:  # type: ignore[type-arg]
    home = desk["home"]
    for args in (("MR_v99",), ("--run", "bt-nope"), ("--family", "NOPE"), ("--since", "last tuesday", "--family", "MR")):
        out = cli(home, "compare", *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def test_paper_fills_of_three_versions_and_a_promotion(tmp_path: Path) -> None:
    """Paper fills through the runtime and the sim: round trips, fees and PnL from the ledger; the
    transfer fills of a promotion are not trades, and NEW's trip counts once it closes."""
    from runner import control
    from tests.kit.desk import Desk

    desk = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",), "MR_v3": ("BTC-USD",)})
    try:
        for _ in range(2):
            desk.trade("MR_v1", "buy", "0.01")
            desk.trade("MR_v1", "sell", "0.01", purpose="exit")
        desk.trade("MR_v2", "sell", "0.02")
        desk.trade("MR_v2", "buy", "0.02", purpose="exit")
        desk.trade("MR_v3", "buy", "0.03")
        doc = compare(desk.ledger, ["MR_v1", "MR_v2", "MR_v3"])
        rows = {r["id"]: r for r in doc["variants"]}
        assert [rows[v]["trades"] for v in ("MR_v1", "MR_v2", "MR_v3")] == [2, 1, 0]
        assert rows["MR_v3"]["open_trades"] == 1
        for vid in ("MR_v1", "MR_v2"):
            fills = desk.ledger.fills(variant=vid, limit=None)
            fees = sum((f.fee for f in fills), Decimal(0))
            notional = sum((f.qty * f.price for f in fills), Decimal(0))
            (pos,) = desk.ledger.positions(variant=vid)
            assert rows[vid]["fees"] == pytest.approx(float(fees)) and fees > 0
            assert rows[vid]["pnl"] == pytest.approx(float(pos.realized_pnl - pos.fees))
            assert rows[vid]["margin"] == pytest.approx(float((pos.realized_pnl - pos.fees) / notional))
            assert rows[vid]["win_rate"] == 0.0  # a taker round trip on a standing market loses the spread
        from datetime import UTC

        second = desk.ledger.fills(variant="MR_v1", limit=None)[2].ts.replace(tzinfo=UTC)  # opens trip 2
        late = compare(desk.ledger, ["MR_v1"], since=second)["variants"][0]
        assert (late["trades"], late["fees"]) == (1, pytest.approx(rows["MR_v1"]["fees"] / 2))

        (desk.home / "strategies.d" / "MR_v5.yaml").write_text(
            (desk.home / "strategies.d" / "MR_v3.yaml").read_text().replace("version: 3", "version: 5"))
        desk.rt.rescan = True
        desk.step(3)
        control.promote(desk.ledger, "MR_v3", "MR_v5", desk.venues)
        desk.step()
        desk.trade("MR_v5", "sell", "0.03", purpose="exit")
        rows = {r["id"]: r for r in compare(desk.ledger, ["MR_v3", "MR_v5"])["variants"]}
        assert (rows["MR_v3"]["trades"], rows["MR_v3"]["open_trades"]) == (0, 0)  # handed over, not a trade
        assert rows["MR_v5"]["trades"] == 1
        old_fills = desk.ledger.fills(variant="MR_v3", limit=None)
        (old_pos,) = desk.ledger.positions(variant="MR_v3")
        assert rows["MR_v3"]["pnl"] == pytest.approx(float(old_pos.realized_pnl - old_pos.fees))  # up to the mark
        assert rows["MR_v3"]["notional"] == pytest.approx(
            float(sum(f.qty * f.price for f in old_fills if f.liquidity != "transfer")))
    finally:
        desk.close()
