"""The maker style through the real runtime, engine, ledger and sim: reprice watchdog, one
logical intent id across reprices, partial fills carried over, post-only rejection as a normal event."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.kit.desk import Desk

VID = "MK_v1"
# a kind that never enters (and holds what it gets) so the test alone decides the orders
QUIET = """\
name: MK
version: 1
kind: imbalance_scalper
venue: sim
mode: paper
instruments: [BTC-USD]
params: {{threshold: 0.99, exit_threshold: 0.0, max_hold: 10h}}
risk: {{max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 1000}}
execution: {{style: maker{extra}}}
"""


def maker_desk(tmp_path: Path, extra: str = "") -> Desk:
    return Desk(tmp_path, {VID: QUIET.format(extra=extra)}).start(steps=3)


def skipped(desk: Desk, reason: str) -> int:
    return desk.engine(VID).skips.get(reason, 0) + desk.ledger.skips(variant=VID).get(reason, 0)


def move(desk: Desk, factor: float, sym: str = "BTC-USD") -> None:
    desk.sim.store.db.execute("UPDATE market SET mid = mid * ? WHERE instrument = ?", (factor, sym))
    desk.sim._books.pop(sym, None)


def test_a_reprice_keeps_the_logical_intent_and_the_final_fill_lands_on_it(tmp_path: Path) -> None:
    desk = maker_desk(tmp_path)
    try:
        rep = desk.place(VID, "buy", 0.02)
        assert rep is not None and rep.status.value == "new"
        first = rep.client_order_id
        desk.venue_fills(rep, "0.005")  # a partial maker fill, then the market runs away
        move(desk, 1.005)  # 50 bp up: the resting bid is left behind
        desk.step()  # cancelled; its partial fill arrives in the same step
        desk.step()  # replaced for what is left
        orders = desk.ledger.orders(variant=VID)
        assert len(orders) == 2 and orders[0].client_order_id == first
        assert [o.intent_id for o in orders] == [first, first]
        assert desk.ledger.order_status(first) == "cancelled"
        replacement = orders[1]
        assert replacement.qty == Decimal("0.015")  # what the partial fill left
        assert replacement.price is not None and replacement.price > orders[0].price  # type: ignore[operator]
        assert replacement.tif == "post_only"
        move(desk, 0.99)  # the market trades down through the new bid: filled as maker
        desk.step()
        fills = desk.ledger.fills(variant=VID)
        assert sum(f.qty for f in fills) == Decimal("0.02")
        for f in fills:
            row = desk.ledger.order_row(f.client_order_id or "")
            assert row is not None and row.intent_id == first
        assert skipped(desk, "maker_reprice") == 1
    finally:
        desk.close()


def test_the_watchdog_gives_up_after_max_reprices(tmp_path: Path) -> None:
    desk = maker_desk(tmp_path, ", max_reprices: 1")
    try:
        desk.place(VID, "buy", 0.02)
        for _ in range(3):
            move(desk, 1.005)
            desk.step()
        eng = desk.engine(VID)
        assert len(desk.ledger.orders(variant=VID)) == 2  # the first and one reprice
        assert not eng.working and not eng.maker.orders
        assert skipped(desk, "maker_gave_up") == 1
    finally:
        desk.close()


def test_a_post_only_rejection_is_a_normal_event_not_a_trouble(tmp_path: Path) -> None:
    desk = maker_desk(tmp_path)
    try:
        ask = desk.sim.book("BTC-USD").asks[0][0]
        assert desk.place(VID, "buy", 0.01, price=ask + 5) is None  # would take: the sim refuses it
        eng = desk.engine(VID)
        assert eng.troubles == [] and skipped(desk, "post_only_rejected") == 1
        desk.step()
        assert desk.state(VID) == "active"
    finally:
        desk.close()
