"""Multi-leg groups through the real runtime, engine, ledger and sim venue.

A funding pair is written in one transaction (a crash leaves zero or two legs in the ledger);
a Kalshi orphan leg is swept at the bid and the variant opens no group while it is unbalanced;
a pair the venue nets is paid at once; funding is booked as zero-quantity fill rows.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.engine.runtime import Runtime
from runner.kinds.base import Intent
from runner.spec.deployment_config import RunnerConfig, load_venues
from tests.kit.desk import Desk

FUNDING_YAML = """\
name: funding-arb
version: 7
kind: funding_arb
venue: sim
mode: paper
instruments: [BTC-USD, BTC-PERP]
params: {{open_apr: {open_apr}, close_apr: -5.0, order_notional: 1500}}
risk: {{max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 1000}}
data: {{quotes: true}}
"""

KALSHI_YAML = """\
name: Kalshi-sum
version: 7
kind: kalshi_sum
venue: sim
mode: paper
instruments: [KXSIM-A]
params: {scope: market, min_gap: 2, min_depth: 5, max_contracts: 10}
risk: {max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 5000}
"""


class Crash(BaseException):
    """The process dies here (not an error the engine could catch)."""


def funding_desk(tmp_path: Path, open_apr: float = 0.05) -> Desk:
    return Desk(tmp_path, {"funding-arb_v7": FUNDING_YAML.format(open_apr=open_apr)})


def group_orders(desk: Desk, vid: str) -> list:
    return [o for o in desk.ledger.orders(variant=vid) if o.group_id]


def test_a_crash_between_the_legs_leaves_both_legs_recorded_and_the_restart_finds_the_unsent_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = funding_desk(tmp_path, open_apr=100.0).start(steps=2)  # never opens by itself
    real_submit = desk.sim.submit
    calls: list[str] = []

    def submit_then_die(req):  # type: ignore[no-untyped-def]
        calls.append(req.client_order_id)
        if len(calls) == 2:
            raise Crash()
        return real_submit(req)

    monkeypatch.setattr(desk.sim, "submit", submit_then_die)
    eng = desk.engine("funding-arb_v7")
    spot = desk.event("BTC-USD")
    with pytest.raises(Crash):
        eng.place_group([Intent("BTC-USD", "buy", "entry", qty=0.05, group="pair"),
                         Intent("BTC-PERP", "sell", "entry", qty=0.05, group="pair")], spot)
    legs = group_orders(desk, "funding-arb_v7")
    assert len(legs) == 2 and len({o.group_id for o in legs}) == 1
    assert {o.instrument for o in legs} == {"BTC-USD", "BTC-PERP"}
    monkeypatch.undo()
    # restart (the dead runner's lease lapses): it looks each recorded leg up by client id first
    desk.ledger.release_leases(desk.rt.runner_id)
    rt = Runtime(tmp_path, desk.ledger, load_venues(tmp_path), RunnerConfig(), clock=lambda: desk.now)
    rt.start()
    perp = next(o for o in legs if o.instrument == "BTC-PERP")
    assert desk.ledger.order_status(perp.client_order_id) == "not_sent"
    rt.stop()
    desk.ledger.close()


def test_a_crash_while_writing_the_legs_leaves_no_leg_in_the_ledger_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = funding_desk(tmp_path, open_apr=100.0).start(steps=2)
    ledger = desk.ledger
    real_record = ledger.record_order
    n = [0]

    def record_then_die(order, conn=None):  # type: ignore[no-untyped-def]
        n[0] += 1
        if n[0] == 2:
            raise Crash()
        return real_record(order, conn)

    monkeypatch.setattr(ledger, "record_order", record_then_die)
    eng = desk.engine("funding-arb_v7")
    with pytest.raises(Crash):
        eng.place_group([Intent("BTC-USD", "buy", "entry", qty=0.05, group="pair"),
                         Intent("BTC-PERP", "sell", "entry", qty=0.05, group="pair")], desk.event())
    monkeypatch.undo()
    assert group_orders(desk, "funding-arb_v7") == []
    assert desk.sim.open_orders() == [] and desk.sim.fills().fills == []
    desk.close()


def test_the_funding_pair_opens_as_one_group_and_funding_lands_as_zero_quantity_fills(tmp_path: Path) -> None:
    desk = funding_desk(tmp_path).start(steps=2)
    try:
        desk.step(3)
        legs = group_orders(desk, "funding-arb_v7")
        assert len(legs) == 2 and legs[0].group_id == legs[1].group_id
        fills = desk.ledger.fills(variant="funding-arb_v7")
        assert {f.group_id for f in fills if f.qty} == {legs[0].group_id}
        spot = next(p for p in desk.ledger.positions(variant="funding-arb_v7") if p.instrument == "BTC-USD")
        perp = next(p for p in desk.ledger.positions(variant="funding-arb_v7") if p.instrument == "BTC-PERP")
        assert spot.qty == -perp.qty > 0
        fees_before = perp.fees
        desk.step(50)  # the sim settles funding every 50 steps
        funding = [f for f in desk.ledger.fills(variant="funding-arb_v7") if f.liquidity == "funding"]
        assert len(funding) == 1 and funding[0].qty == 0
        rate_row = desk.sim.store.db.execute("SELECT rate, amount FROM funding WHERE qty != '0'").fetchone()
        assert funding[0].fee == -Decimal(rate_row[1])  # the venue's cashflow, minus: fee = -received
        perp = next(p for p in desk.ledger.positions(variant="funding-arb_v7") if p.instrument == "BTC-PERP")
        assert perp.qty == -spot.qty and perp.fees == fees_before + funding[0].fee  # PnL moves once, qty not at all
        desk.rt.stop()  # restart: seeing the same settlement again books nothing twice
        desk.rt = Runtime(tmp_path, desk.ledger, load_venues(tmp_path), RunnerConfig(), clock=lambda: desk.now)
        desk.rt.start()
        desk.step()
        assert len([f for f in desk.ledger.fills(variant="funding-arb_v7") if f.liquidity == "funding"]) == 1
    finally:
        desk.ledger.close()


def _orphaned_pair(desk: Desk) -> list:  # type: ignore[type-arg]
    """Step until the sim's first YES+NO pair is sent with its NO leg unfilled; its two order rows."""
    desk.sim.faults.append("nofill:KXSIM-A:no")
    for _ in range(300):
        desk.step()
        if group_orders(desk, "Kalshi-sum_v7"):
            break
    legs = group_orders(desk, "Kalshi-sum_v7")
    assert len(legs) == 2, "the sim offered no gap"
    return legs


def test_an_orphan_leg_blocks_new_groups_and_is_swept_at_the_bid(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML}).start(steps=1)
    try:
        eng = desk.engine("Kalshi-sum_v7")
        legs = _orphaned_pair(desk)
        yes = next(p for p in desk.ledger.positions(variant="Kalshi-sum_v7") if p.instrument == "KXSIM-A:yes")
        assert yes.qty > 0 and eng.groups.unbalanced == {legs[0].group_id}
        ev = desk.event("KXSIM-A")
        assert eng.place_group([Intent("KXSIM-A:yes", "buy", "entry", qty=1, price=99, group="x"),
                                Intent("KXSIM-A:no", "buy", "entry", qty=1, price=99, group="x")], ev) == []
        assert eng.skips.get("group_unbalanced") == 1
        desk.step()  # the next sweep flattens the orphan at the bid
        sweep = [o for o in desk.ledger.orders(variant="Kalshi-sum_v7") if o.purpose == "orphan_sweep"]
        assert len(sweep) == 1 and sweep[0].side == "sell" and sweep[0].group_id == legs[0].group_id
        qty = {p.instrument: p.qty for p in desk.ledger.positions(variant="Kalshi-sum_v7")}
        assert qty.get("KXSIM-A:yes", 0) == 0 and qty.get("KXSIM-A:no", 0) == 0
        assert eng.groups.blocking(eng.positions) is None  # resolved: new groups may open again
    finally:
        desk.close()


def test_a_pair_the_sim_nets_is_paid_100c_at_once_in_the_ledger_and_on_the_venue(tmp_path: Path) -> None:
    """The sim nets YES against NO as Kalshi does (it used to hold both legs to expiry): the
    variant's pair is closed by netting fills at prices summing to 100, the venue's cash gets
    the same 100c a pair, and the ledger-vs-venue check agrees (both flat)."""
    from runner.audit.inputs import read_ledger
    from runner.audit.ledger_checks import groups_balanced

    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML}).start(steps=1)
    try:
        cash0 = desk.sim.store.balance("USD")
        for _ in range(150):
            desk.step()
            fills = desk.ledger.fills(variant="Kalshi-sum_v7")
            if any(f.liquidity == "netting" for f in fills):
                break
        fills = desk.ledger.fills(variant="Kalshi-sum_v7")
        netted = [f for f in fills if f.liquidity == "netting"]
        assert {f.instrument for f in netted} == {"KXSIM-A:yes", "KXSIM-A:no"}
        assert all(f.side == "sell" and f.fee == 0 for f in netted)
        n = sum(f.qty for f in netted if f.instrument == "KXSIM-A:yes")
        assert n > 0 and sum(f.qty * f.price for f in netted) == 100 * n  # a pair pays 100c
        assert all(p.qty == 0 for p in desk.ledger.positions(variant="Kalshi-sum_v7"))
        assert not [p for p in desk.sim.positions() if p.instrument.startswith("KXSIM-A")]
        bought = [f for f in fills if f.side == "buy"]
        cost = sum(f.qty * f.price for f in bought)
        fees = sum(f.fee for f in bought)
        pnl = sum(p.realized_pnl for p in desk.ledger.positions(variant="Kalshi-sum_v7"))
        assert pnl == 100 * n - cost  # a pair earns 100 - (yes + no) per contract, before fees
        assert desk.sim.store.balance("USD") - cash0 == (100 * n - cost - fees) / 100  # the venue paid the same
        assert not groups_balanced(read_ledger(desk.ledger), {})  # the netted group is closed, not half-held
    finally:
        desk.close()


def test_an_orphan_the_market_settled_before_its_sweep_leaves_its_group_balanced(tmp_path: Path) -> None:
    """The settlement fill (no group) closes the orphan leg inside its group; a later orphan on the
    re-listed market is still a breach: the settlement closes only what was filled before it."""
    from runner.audit.inputs import read_ledger
    from runner.audit.ledger_checks import groups_balanced

    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML}).start(steps=1)
    try:
        legs = _orphaned_pair(desk)
        [found] = groups_balanced(read_ledger(desk.ledger), {})  # the orphan is held: a breach
        assert found.evidence["group"] == legs[0].group_id
        settled = desk.sim.store.db.execute("SELECT COUNT(*) FROM settlements WHERE market='KXSIM-A'").fetchone()[0]
        while desk.sim.store.db.execute("SELECT COUNT(*) FROM settlements WHERE market='KXSIM-A'").fetchone()[0] == settled:
            desk.sim.advance()  # to expiry, without a step that would sweep the orphan first
            desk.now += 1.0
        desk.step()
        fills = desk.ledger.fills(variant="Kalshi-sum_v7")
        assert [f.instrument for f in fills if f.liquidity == "settlement"] == ["KXSIM-A:yes"]
        assert not [o for o in desk.ledger.orders(variant="Kalshi-sum_v7") if o.purpose == "orphan_sweep"]
        assert all(p.qty == 0 for p in desk.ledger.positions(variant="Kalshi-sum_v7"))
        assert groups_balanced(read_ledger(desk.ledger), {}) == []
        # the next orphan, on the re-listed market, is judged on its own fills
        legs = _next_orphan(desk, {o.group_id for o in legs})
        [found] = groups_balanced(read_ledger(desk.ledger), {})
        assert found.evidence["group"] == legs[0].group_id and found.severity.value == "critical"
    finally:
        desk.close()


def _next_orphan(desk: Desk, old: set) -> list:  # type: ignore[type-arg]
    desk.sim.faults.append("nofill:KXSIM-A:no")
    for _ in range(300):
        desk.step()
        new = [o for o in group_orders(desk, "Kalshi-sum_v7") if o.group_id not in old]
        if new:
            return new
    raise AssertionError("the sim offered no gap")


EVENT_YAML = """\
name: Kalshi-event
version: 1
kind: kalshi_sum
venue: sim
mode: paper
instruments: [KXSIM-CUP-RED, KXSIM-CUP-BLUE, KXSIM-CUP-GOLD]
params: {scope: event, min_gap: 2, min_depth: 5, max_contracts: 10}
risk: {max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 5000}
"""


def test_event_scope_buys_yes_on_every_market_of_the_event_as_one_group(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"Kalshi-event_v1": EVENT_YAML}).start(steps=1)
    try:
        for _ in range(100):
            desk.step()
            if group_orders(desk, "Kalshi-event_v1"):
                break
        legs = group_orders(desk, "Kalshi-event_v1")
        assert sorted(o.instrument for o in legs) == ["KXSIM-CUP-BLUE:yes", "KXSIM-CUP-GOLD:yes", "KXSIM-CUP-RED:yes"]
        assert len({o.group_id for o in legs}) == 1 and len({o.qty for o in legs}) == 1
        assert sum(o.price for o in legs) < 98  # type: ignore[misc]
    finally:
        desk.close()


def test_an_unbalanced_group_still_blocks_new_groups_after_a_restart(tmp_path: Path) -> None:
    from runner.engine.runtime import Runtime
    from runner.spec.deployment_config import RunnerConfig, load_venues

    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML}).start(steps=1)
    try:
        legs = _orphaned_pair(desk)
        assert desk.engine("Kalshi-sum_v7").groups.unbalanced == {legs[0].group_id}
        desk.rt.stop()  # the runner goes down with the orphan still held
        again = Runtime(desk.home, desk.ledger, load_venues(desk.home), RunnerConfig(), clock=lambda: desk.now)
        again.start()
        eng = again.engines["Kalshi-sum_v7"]
        assert eng.groups.unbalanced == {legs[0].group_id}  # rebuilt from the ledger
        assert eng.groups.blocking(eng.positions) == "group_unbalanced"
        assert eng.groups.group_for("KXSIM-A:yes") == legs[0].group_id  # the sweep will carry its id
    finally:
        desk.close()


def test_netted_pairs_still_count_against_max_contracts_within_a_round(tmp_path: Path) -> None:
    """The sim nets each pair at once; the kind still counts it, so a market's entries within one
    round stay within ``max_contracts`` (it re-entered on every dislocation, paying fees each time)."""
    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML}).start(steps=1)
    try:
        for _ in range(120):  # inside KXSIM-A's first round (150 steps): no settlement resets the cap
            desk.step()
        entries = {o.client_order_id for o in desk.ledger.orders(variant="Kalshi-sum_v7")
                   if o.purpose == "entry" and o.instrument == "KXSIM-A:yes"}
        bought = sum(f.qty for f in desk.ledger.fills(variant="Kalshi-sum_v7") if f.client_order_id in entries)
        netted = [f for f in desk.ledger.fills(variant="Kalshi-sum_v7") if f.liquidity == "netting"]
        assert netted and 0 < bought <= 10  # max_contracts: 10
        assert desk.engine("Kalshi-sum_v7").strategy.venue_netted["KXSIM-A"] == float(bought)
    finally:
        desk.close()


def test_a_restart_inside_a_round_still_counts_the_pairs_netted_before_it(tmp_path: Path) -> None:
    """The netted count is rebuilt from the ledger at start: without it a restart let the kind
    enter ``max_contracts`` more on a market whose round had not settled."""
    desk = Desk(tmp_path, {"Kalshi-sum_v7": KALSHI_YAML}).start(steps=1)
    steps = 1
    try:
        while steps < 100 and not desk.engine("Kalshi-sum_v7").strategy.venue_netted.get("KXSIM-A"):
            desk.step()
            steps += 1
        before = desk.engine("Kalshi-sum_v7").strategy.venue_netted.get("KXSIM-A")
        assert before, "no pair netted within 100 steps of the first round"
        now = desk.now
    finally:
        desk.close()
    again = Desk.open(desk.home, now=now, market_moves=True)
    try:
        assert again.engine("Kalshi-sum_v7").strategy.venue_netted["KXSIM-A"] >= before
        while steps < 120:  # still inside KXSIM-A's first round (150 steps)
            again.step()
            steps += 1
        entries = {o.client_order_id for o in again.ledger.orders(variant="Kalshi-sum_v7")
                   if o.purpose == "entry" and o.instrument == "KXSIM-A:yes"}
        bought = sum(f.qty for f in again.ledger.fills(variant="Kalshi-sum_v7") if f.client_order_id in entries)
        assert 0 < bought <= 10  # max_contracts: 10, across the restart
    finally:
        again.close()
