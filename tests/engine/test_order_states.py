"""The one order status vocabulary (runner/ledger/order_states.py): its transition table holds
the race edges real venues produce, and every event sequence a real deployment writes obeys it
(the runtime, engine, ledger and sim, faults injected the sim's own way)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from runner.ledger import order_states as st
from runner.ledger.store import T_EVENTS
from tests.kit.desk import Desk
from venues.base import OrderStatus


def test_the_open_set_and_the_race_edges() -> None:
    assert {s.value for s in OrderStatus if s.is_open} <= st.OPEN
    assert st.is_open(st.UNKNOWN) and st.is_open(st.RESOLVED) and not st.is_open(st.FILLED)
    assert st.can_move(st.CANCELLED, st.FILLED_AFTER_CANCELLED)  # a fill read after the cancel
    assert st.can_move(st.REJECTED, st.FILLED_AFTER_REJECTED)
    assert st.filled_after(st.CANCELLED) == st.FILLED_AFTER_CANCELLED and st.filled_after(st.FILLED) is None
    for a, b in [(st.SUBMITTING, st.UNKNOWN), (st.UNKNOWN, st.RESOLVED), (st.RESOLVED, st.NEW),
                 (st.NEW, st.PARTIAL), (st.PARTIAL, st.FILLED), (st.FILLED, st.DATA_ANOMALY)]:
        assert st.can_move(a, b), (a, b)
    assert not st.can_move(st.FILLED, st.NEW) and not st.can_move(st.SEND_FAILED, st.NEW)
    assert not st.can_move(st.CANCELLED, st.NEW)
    assert st.fill_key("okx", "BTC/USDT:1") == "okx:BTC/USDT:1"
    assert st.fill_key("sim", "F1", "bt-1") == "sim:bt-1:F1"


def test_every_event_sequence_a_deployment_writes_is_in_the_table(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    try:
        sim = desk.sim
        desk.trade("MR_v1", "buy", "0.01")
        for fault in ("5xx:submit", "timeout_after_accept", "drop_after_accept", "reject", "down:submit"):
            sim.faults.append(fault)
            desk.trade("MR_v1", "sell" if fault != "reject" else "buy", "0.01", purpose="exit")
            desk.step(3)
        with desk.ledger.engine.connect() as conn:
            rows = conn.execute(select(T_EVENTS.c.client_order_id, T_EVENTS.c.status).order_by(T_EVENTS.c.id)).all()
        seqs: dict[str, list[str]] = defaultdict(list)
        for cid, status in rows:
            seqs[cid].append(status)
        seen = {s for seq in seqs.values() for s in seq}
        assert {st.UNKNOWN, st.RESOLVED, st.REJECTED, st.SEND_FAILED, st.FILLED} <= seen, seen
        for cid, seq in seqs.items():
            assert seq[0] == st.SUBMITTING, (cid, seq)
            for a, b in zip(seq, seq[1:], strict=False):
                assert b in st.STATUSES and st.can_move(a, b), (cid, seq)
    finally:
        desk.close()
