"""Money in the account's currency through the real runtime, engine, sim and ledger: a Kalshi
leg's cents are never added to dollars, and positions are marked at the mid the runner saw."""

from __future__ import annotations

from pathlib import Path

from runner.cli.views import positions_view, status_view
from runner.engine.execution import to_decimal
from tests.kit.desk import Desk, variant_yaml

REPO = Path(__file__).resolve().parents[2]
KALSHI = (REPO / "strategies.d" / "Kalshi-sum_v1.yaml").read_text().replace("min_gap: 2", "min_gap: 99")


def desk(tmp_path: Path) -> Desk:
    # a Kalshi variant that never enters by itself (min_gap 99) and an MR one on BTC-USD
    return Desk(tmp_path, {"Kalshi-sum_v1": KALSHI, "MR_v13": variant_yaml("MR_v13")}).start(steps=2)


def test_daily_pnl_and_risk_count_a_kalshi_leg_in_dollars(tmp_path: Path) -> None:
    d = desk(tmp_path)
    try:
        eng = d.engine("Kalshi-sum_v1")
        leg = "KXSIM-A:yes"
        d.step()
        rep = d.place("Kalshi-sum_v1", "buy", 10, sym=leg)
        assert rep is not None and rep.filled_qty > 0
        d.step()
        pos = eng.positions[leg]
        mark = to_decimal(eng.marks[leg])
        cents = (mark - pos.avg_price) * pos.qty - pos.fees  # the leg's own units
        assert pos.fees > 0  # Kalshi's fee on the fill
        assert eng.daily_pnl() == cents / 100  # dollars: a $20 limit is not tripped by 2,000 cents
        assert eng.unrealized() == (mark - pos.avg_price) * pos.qty / 100
        # the entry risk check compares dollars: 50 contracts at ~50c is $25 under a $50 limit
        rep = d.place("Kalshi-sum_v1", "buy", 50, sym=leg)
        assert rep is not None and not any("risk" in k for k in eng.skips)
    finally:
        d.close()


def test_status_and_positions_mark_at_the_recorded_mid_in_the_account_currency(tmp_path: Path) -> None:
    d = desk(tmp_path)
    try:
        d.step()
        rep = d.place("MR_v13", "buy", 0.01)
        assert rep is not None and rep.filled_qty
        kal = d.place("Kalshi-sum_v1", "buy", 10, sym="KXSIM-A:no")
        assert kal is not None and kal.filled_qty > 0
        d.step(6)  # past the equity interval: the runner records its marks
        eng, keng = d.engine("MR_v13"), d.engine("Kalshi-sum_v1")
        rows = {(r["variant"], r["instrument"]): r for r in positions_view(d.ledger)}
        btc = rows[("MR_v13", "BTC-USD")]
        fill_price = float(d.ledger.fills(variant="MR_v13")[0].price)
        assert btc["mark"] != fill_price  # a mid the runner recorded, not the fill
        assert abs(btc["mark"] - eng.marks["BTC-USD"]) < 0.01 * btc["mark"]
        assert btc["currency"] == "USD" and btc["mark_ts"] is not None
        p = eng.positions["BTC-USD"]
        assert btc["unrealized_pnl"] == float((to_decimal(btc["mark"]) - p.avg_price) * p.qty)
        no = rows[("Kalshi-sum_v1", "KXSIM-A:no")]
        kp = keng.positions["KXSIM-A:no"]
        assert no["currency"] == "USD" and no["mark"] is not None
        assert no["unrealized_pnl"] == float((to_decimal(no["mark"]) - kp.avg_price) * kp.qty / 100)
        assert no["fees"] == float(kp.fees / 100)
        st = {v["id"]: v for v in status_view(d.ledger)["variants"]}
        assert abs(st["Kalshi-sum_v1"]["pnl"] - (no["realized_pnl"] + no["unrealized_pnl"])) < 1e-9
        assert abs(st["Kalshi-sum_v1"]["pnl"]) < 5  # dollars on a 10-contract leg, never hundreds of cents
    finally:
        d.close()
