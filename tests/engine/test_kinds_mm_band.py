"""The Apr 24 incident: a market maker whose reference drifts away from the market.

The real runtime, engine, ledger and sim venue: the sim's market jumps 8% while the maker's
EMA reference lags behind. Every quote it sends stays inside the venue's band around the live
mid (none is refused), and the drift is recorded where the audits read skip reasons.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.kit.desk import Desk

MM_YAML = """\
name: MMTV
version: 9
kind: market_making
venue: sim
mode: paper
instruments: [BTC-USD]
params:
  half_spread_bps: 5
  min_size: 0.01
  max_size: 0.02
  volume_window: 1
  max_inventory: 1
  reprice_bps: 1
  min_replace_s: 0
  reference: ema
  ema_halflife_s: 1h
  price_band_pct: 0.02
  max_ref_drift_pct: 0.005
execution:
  style: maker
risk:
  max_order_notional: 5000
  max_position_notional: 50000
  max_daily_loss: 5000
"""


def test_a_drifting_reference_never_quotes_outside_the_band_and_the_drift_is_recorded(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MMTV_v9": MM_YAML}).start(steps=3)
    try:
        eng = desk.engine("MMTV_v9")
        assert eng.state.value == "active"
        sim = desk.sim
        sim.store.db.execute("UPDATE market SET mid = mid * 1.08 WHERE instrument = 'BTC-USD'")
        sim._books.pop("BTC-USD", None)
        checked = 0
        for _ in range(6):
            desk.step()
            mid = Decimal(repr(desk.mid()))
            for cid, w in eng.working.items():
                if w.purpose == "quote":
                    assert w.req.price is not None
                    assert abs(w.req.price - mid) <= mid * Decimal("0.05"), (cid, w.req.price, mid)
                    checked += 1
        assert checked > 0
        orders = desk.ledger.orders(variant="MMTV_v9")
        assert all(desk.ledger.order_status(o.client_order_id) != "rejected" for o in orders)
        assert eng.troubles == [] and desk.state("MMTV_v9") == "active"
        desk.rt.stop()  # flushes skip counters to the ledger
        skips = desk.ledger.skips(variant="MMTV_v9")
        assert skips.get("flag_reference_drift", 0) > 0 and skips.get("flag_quote_clamped", 0) > 0
        # ... and the drift is a finding of the audits, citing the runbook section for it
        from runner.audit.inputs import read_ledger
        from runner.audit.strategy_flags import strategy_flags

        found = {f.evidence["subject"]: f for f in strategy_flags(read_ledger(desk.ledger), {})}
        assert set(found) == {"flag_reference_drift", "flag_quote_clamped"}
        assert all(f.variant == "MMTV_v9" and f.runbook == "quote-drift-out-of-band" for f in found.values())
    finally:
        desk.ledger.close()


def test_the_engine_clamps_any_limit_price_into_the_venue_band() -> None:
    from runner.engine.execution import clamp_to_band
    from venues.base import Instrument

    inst = Instrument("X", Decimal("0.01"), Decimal("0.001"), price_band_pct=Decimal("0.05"))
    assert clamp_to_band(Decimal("120"), 100.0, inst) == Decimal("104.500")  # 90% of the band, margin kept
    assert clamp_to_band(Decimal("80"), 100.0, inst) == Decimal("95.500")
    assert clamp_to_band(Decimal("101"), 100.0, inst) == Decimal("101")


def test_an_order_request_carries_the_clamped_price_only_near_or_past_the_band() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from runner.engine.execution import build_request, clamp_to_band, to_decimal
    from runner.kinds.base import Intent, MarketEvent
    from runner.spec.variant import ExecutionSpec
    from venues.base import Instrument

    inst = Instrument("X", Decimal("0.01"), Decimal("0.001"), price_band_pct=Decimal("0.05"))
    ev = MarketEvent(0.0, "X", 99.99, 100.01)  # mid 100: the band is 95..105, the clamp 95.5..104.5

    @settings(max_examples=300, deadline=None)
    @given(st.floats(min_value=50.0, max_value=150.0), st.sampled_from(["buy", "sell"]))
    def check(price: float, side: str) -> None:
        req = build_request("c", Intent("X", side, "entry", qty=1.0, price=price), Decimal(1), ev,
                            ExecutionSpec(style="maker"), inst, False)
        assert req.price == clamp_to_band(to_decimal(price), 100.0, inst)

    check()
    for edge in (104.25, 104.5, 104.50000001, 95.75, 95.5, 95.49999999):  # between the float check and the clamp
        req = build_request("c", Intent("X", "buy", "entry", qty=1.0, price=edge), Decimal(1), ev,
                            ExecutionSpec(style="maker"), inst, False)
        assert req.price == clamp_to_band(to_decimal(edge), 100.0, inst)
