"""A legged funding pair through the real runtime, engine, sim and ledger: the perp leg of a pair
does not fill, the variant flags the pair, then unwinds the naked spot leg after pair_timeout
(0.0566 BTC was once left naked for days by a kind that treated a half pair as held)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runner.kinds.base import Intent
from tests.kit.desk import Desk

VID = "funding-arb_v1"
REPO = Path(__file__).resolve().parents[2]
# never opens or closes by itself: only the pair the test places, and the unwind, trade
TEXT = ((REPO / "strategies.d" / "funding-arb_v1.yaml").read_text()
        .replace("open_apr: 0.20", "open_apr: 1000").replace("close_apr: 0.05", "close_apr: -1000")
        .replace("pair_timeout: 30s", "pair_timeout: 10s") + "data: {quotes: true}\n")  # an event a step


def test_a_pair_whose_perp_leg_did_not_fill_is_flagged_then_its_spot_leg_unwound(tmp_path: Path) -> None:
    d = Desk(tmp_path, {VID: TEXT}).start(steps=3)
    try:
        eng = d.engine(VID)
        d.sim.clock = lambda: d.now  # market events carry the desk's clock: 1 s a step
        d.sim.faults.append("nofill:BTC-PERP")  # the book emptied before the perp leg arrived
        eng.place_group([Intent("BTC-USD", "buy", "entry", qty=0.05, group="pair"),
                         Intent("BTC-PERP", "sell", "entry", qty=0.05, group="pair")], d.event("BTC-USD"))
        d.step(3)
        assert d.ledger.positions(variant=VID) and eng.positions["BTC-USD"].qty == Decimal("0.05")
        assert eng.positions.get("BTC-PERP") is None or eng.positions["BTC-PERP"].qty == 0
        d.step(15)  # past pair_timeout
        unwinds = [o for o in d.ledger.orders(variant=VID) if o.purpose == "pair_unwind"]
        assert unwinds and unwinds[0].instrument == "BTC-USD" and unwinds[0].side == "sell"
        assert unwinds[0].reduce_only and unwinds[0].group_id is not None  # closes within its group
        assert eng.positions["BTC-USD"].qty == 0  # no naked leg left
        skips = d.ledger.skips(variant=VID)
        assert skips.get("pair_unbalanced", 0) >= 1 and skips.get("flag_pair_unwound", 0) >= 1
        assert d.state(VID) == "active"
    finally:
        d.close()


# opens whenever it is flat (any positive funding is wanted), never closes by itself
WANTED = ((REPO / "strategies.d" / "funding-arb_v1.yaml").read_text()
          .replace("open_apr: 0.20", "open_apr: -999").replace("close_apr: 0.05", "close_apr: -1000")
          .replace("pair_timeout: 30s", "pair_timeout: 10s").replace("max_basis_bps: 50", "max_basis_bps: 100000")
          + "data: {quotes: true}\n")


def test_a_pair_still_wanted_has_its_missing_leg_topped_up_within_its_group(tmp_path: Path) -> None:
    """The perp leg of the kind's own pair does not fill; after pair_timeout the pair is still
    wanted, so the perp is topped up (once, flagged ``pair_repaired``) instead of unwinding the
    spot; the repair joins the pair's group and the group is balanced again."""
    d = Desk(tmp_path, {VID: WANTED})
    d.rt.start()
    try:
        d.sim.clock = lambda: d.now
        d.sim.faults.append("nofill:BTC-PERP")  # the book emptied before the first perp leg arrived
        eng = d.engine(VID)
        for _ in range(60):
            d.step()
            if any(o.purpose == "pair_repair" for o in d.ledger.orders(variant=VID)):
                break
        d.step(3)
        orders = d.ledger.orders(variant=VID)
        entries = [o for o in orders if o.purpose == "entry"]
        repairs = [o for o in orders if o.purpose == "pair_repair"]
        assert entries and repairs, [(o.purpose, o.instrument) for o in orders]
        (fix,) = repairs
        assert fix.instrument == "BTC-PERP" and fix.side == "sell" and not fix.reduce_only
        assert fix.group_id == entries[0].group_id  # joins the pair it mends
        assert fix.qty == entries[0].qty
        assert not [o for o in orders if o.purpose == "pair_unwind"]
        assert eng.positions["BTC-USD"].qty == -eng.positions["BTC-PERP"].qty > 0  # delta neutral again
        assert eng.groups.blocking(eng.positions) is None  # the group balances: new groups may open
        skips = d.ledger.skips(variant=VID)
        assert skips.get("flag_pair_repaired", 0) == 1 and not skips.get("flag_pair_unwound")
        assert d.state(VID) == "active"
    finally:
        d.close()
