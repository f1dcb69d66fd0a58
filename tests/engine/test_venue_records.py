"""Funding and asset-taken fees booked from the venue's own records (issue 13): the runtime reads
``cashflows()``, splits each record among the variants holding the instrument and books each
share once (deterministic keys), with the engine's market-event funding off for that account.
Real runtime, engines, ledger and sim."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from runner.engine.venue_records import fills_for
from tests.kit.desk import Desk
from venues.base import CashflowReport

FUNDING = """\
name: funding-arb
version: {version}
kind: funding_arb
venue: sim
mode: paper
instruments: [BTC-USD, BTC-PERP]
params: {{open_apr: 0.05, close_apr: -5.0, order_notional: {notional}}}
risk: {{max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 1000}}
data: {{quotes: true}}
"""


def test_sim_funding_is_booked_once_from_its_records_split_by_position(tmp_path: Path) -> None:
    """Two funding pairs of different sizes on one sim account: the sim's one funding record
    (the account's whole position) is split 3:1 and booked once."""
    desk = Desk(tmp_path, {"funding-arb_v1": FUNDING.format(version=1, notional=3000),
                           "funding-arb_v2": FUNDING.format(version=2, notional=1000)}).start(steps=2)
    try:
        assert not desk.engine("funding-arb_v1").cashflows.funding_from_events  # no double booking
        sim = desk.sim
        for _ in range(120):
            desk.step()
            if sim.store.db.execute("SELECT COUNT(*) FROM funding WHERE amount != '0'").fetchone()[0]:
                break
        desk.step(2)
        (amount,) = sim.store.db.execute("SELECT amount FROM funding WHERE amount != '0'").fetchone()
        funding = {f.variant: f for f in desk.ledger.fills(limit=None) if f.liquidity == "funding"}
        assert set(funding) == {"funding-arb_v1", "funding-arb_v2"} and all(f.qty == 0 for f in funding.values())
        assert sum(f.fee for f in funding.values()) == -Decimal(amount)  # the venue's amount, all of it
        perps = {p.variant: abs(p.qty) for p in desk.ledger.positions() if p.instrument == "BTC-PERP"}
        ratio = perps["funding-arb_v1"] / perps["funding-arb_v2"]
        assert funding["funding-arb_v1"].fee == funding["funding-arb_v2"].fee * ratio  # pro rata to the perps
        desk.rt.records.due.add("sim")
        desk.step()  # read again (a restart does the same): nothing booked twice
        assert len([f for f in desk.ledger.fills(limit=None) if f.liquidity == "funding"]) == 2
    finally:
        desk.close()


def test_a_fee_taken_from_the_bought_asset_shrinks_the_position_and_keeps_cash(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.01")
        eng = desk.rt.engines["MR_v1"]
        rec = CashflowReport("20240506000000000::cfee-1", "fee", "BTC-USD", Decimal("-0.0000025") * 30000,
                             "USD", datetime.now(UTC), Decimal("-0.0000025"))
        ((nf, owner),) = fills_for(rec, "sim", [eng])
        assert owner is eng and nf.fill_key == "sim:20240506000000000::cfee-1:MR_v1"
        assert (nf.side, nf.qty, nf.price, nf.fee) == ("sell", Decimal("0.0000025"), Decimal(30000), Decimal("0.075"))
        assert nf.qty * nf.price - nf.fee == 0  # cash-neutral: the asset went, as a fee
    finally:
        desk.close()
