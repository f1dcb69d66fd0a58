"""cost_sanity and freshness."""

from __future__ import annotations

from datetime import timedelta

from runner.audit.freshness import freshness
from runner.audit.inputs import read_ledger
from runner.audit.ledger_checks import cost_sanity
from runner.kinds.base import Intent
from runner.ledger.types import utcnow
from tests.kit.desk import Desk


def test_fees_and_prices_of_normal_fills_are_within_their_bands(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.trade("MR_v1", "buy", "0.05")
    d.trade("MR_v1", "sell", "0.05", purpose="exit")
    assert cost_sanity(read_ledger(d.ledger), {}) == []


def test_a_fee_above_the_schedule_and_a_fill_beyond_the_band_are_reported(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.rt.engines["MR_v1"].place(Intent("BTC-USD", "buy", "entry", qty=0.05, urgent=True), d.event("BTC-USD"))
    # The venue misreports: ten times its fee, and a price far beyond the order's limit.
    d.sim.store.db.execute("UPDATE fills SET fee = CAST(fee AS REAL) * 10, price = CAST(price AS REAL) * 1.01")
    d.step()
    found = {f.evidence["subject"].split(":")[0]: f for f in cost_sanity(read_ledger(d.ledger), {})}
    assert set(found) == {"fee", "slippage"}
    assert all(f.runbook == "cost-anomaly" and f.variant == "MR_v1" for f in found.values())


def test_a_running_runner_is_fresh_and_a_stopped_one_goes_stale(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    assert freshness(read_ledger(d.ledger), {}) == []
    with d.ledger.begin() as conn:
        conn.exec_driver_sql("DELETE FROM heartbeats")
    [f] = freshness(read_ledger(d.ledger), {})
    assert (f.evidence["subject"], f.runbook) == ("heartbeat", "stale-data")
    d.ledger.heartbeat("r1", "h", 1, utcnow() - timedelta(minutes=5))
    [f] = freshness(read_ledger(d.ledger), {})
    assert f.evidence["subject"] == "market_data"


def test_funding_cashflows_are_not_mistaken_for_fees_off_the_schedule(tmp_path) -> None:
    from tests.kit.home import drive
    from tests.kit.home import make_home as make_sim_home

    home = make_sim_home(tmp_path / "home")
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "strategies.d" / "funding-arb_v1.yaml").read_text()
    home.add_variant("funding-arb_v1.yaml", text + "data: {quotes: true}\n")  # an event per market step
    rt = home.runtime()
    rt.start()
    for _ in range(400):
        drive(rt, 1)
        if any(f.liquidity == "funding" for f in rt.ledger.fills(limit=None)):
            break
    funding = [f for f in rt.ledger.fills(limit=None) if f.liquidity == "funding"]
    assert funding and all(f.qty == 0 and f.fee != 0 for f in funding)
    assert [f for f in cost_sanity(read_ledger(rt.ledger), {}) if f.evidence.get("liquidity") == "funding"] == []
    assert not [f for f in cost_sanity(read_ledger(rt.ledger), {}) if "fee" in f.evidence["subject"]]
    # `positions` shows funding apart: fees are trading fees only (the ledger books funding as a
    # negative fee of a zero-size fill)
    from runner.cli.views import positions_view

    (perp,) = [p for p in positions_view(rt.ledger) if p["instrument"] == "BTC-PERP"]
    got = -sum(float(f.fee) for f in funding if f.instrument == "BTC-PERP")
    trading = sum(float(f.fee) for f in rt.ledger.fills(limit=None) if f.instrument == "BTC-PERP" and f.qty)
    assert abs(perp["funding"] - got) < 1e-9 and abs(perp["fees"] - trading) < 1e-9 and perp["fees"] > 0


def test_kalshi_fees_are_judged_by_kalshis_formula_not_a_rate_on_the_notional(tmp_path) -> None:
    # 3 contracts at a few cents pay ceil(0.07 x 3 x P x (1-P)) = 1c: above 7% of the notional,
    # within the schedule. Ten times that is reported.
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    sim = d.sim
    leg = "KXSIM-A:no" if sim.book("KXSIM-A:no").asks[0][0] < 20 else "KXSIM-A:yes"
    d.trade("MR_v1", "buy", "3", instrument=leg)
    fills = [f for f in d.ledger.fills(variant="MR_v1") if f.instrument == leg]
    assert fills and all(f.fee >= 1 for f in fills)
    assert [f for f in cost_sanity(read_ledger(d.ledger), {}) if f.evidence["instrument"] == leg] == []
    d.rt.engines["MR_v1"].place(Intent(leg, "buy", "entry", qty=2.0, urgent=True), d.event(leg))
    sim.store.db.execute("UPDATE fills SET fee = CAST(fee AS REAL) * 10")  # the ledger has the earlier ones
    d.step()
    assert [f for f in cost_sanity(read_ledger(d.ledger), {}) if f.evidence["instrument"] == leg]
