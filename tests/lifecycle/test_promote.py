"""`runner promote OLD NEW`: NEW takes over OLD's position without a trade, in a running runner
and a stopped one; every incompatible case is refused and writes nothing; the audits stay clean."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner import control
from runner.audit.run import run_checks
from runner.engine.handover import TRANSFER, PromoteRefused
from runner.ledger.marks import latest_marks
from runner.ledger.store import Ledger, default_url
from tests.kit.deployment import variant_yaml
from tests.kit.desk import Desk

BTC = "BTC-USD"


def _desk(tmp_path: Path, variants: dict[str, tuple[str, ...]] | None = None) -> Desk:
    return Desk.create(tmp_path, variants or {"MR_v1": (BTC,), "MR_v2": (BTC,)})


def _dump(ledger: Ledger) -> dict[str, list]:  # type: ignore[type-arg]
    from sqlalchemy import select

    from runner.ledger.store import T_FILLS, T_ORDERS, T_POS, T_STATE, T_TRANS

    with ledger.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t))] for t in (T_FILLS, T_ORDERS, T_POS, T_TRANS)} | {
            "state": [(r.variant, r.state) for r in conn.execute(select(T_STATE))]}


def _mark(ledger: Ledger, mid: str) -> None:
    from runner.ledger.marks import record_marks
    from runner.ledger.types import utcnow

    record_marks(ledger, [("sim", BTC, "USD", Decimal(mid), utcnow())])


def _audit_clean(desk: Desk) -> None:
    findings = run_checks(desk.ledger, desk.venues, desk.home, act=False, adapters={"sim": desk.sim})
    bad = [f for f in findings if f.severity.value in ("warning", "critical")]
    assert bad == [], [f.summary for f in bad]


def test_promote_in_a_running_runner_keeps_the_position_and_sends_nothing(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.02")
        control.pause(desk.ledger, "MR_v2")  # the desk's way: NEW deployed paused, warm, flat
        desk.step()
        _mark(desk.ledger, "30123.5")  # the mid the runner last recorded (this kit's market stands still)
        opened = next(p.opened for p in desk.ledger.positions(variant="MR_v1") if p.instrument == BTC)
        venue_orders, venue_pos = desk.venue_orders(), desk.sim.positions()
        mark = latest_marks(desk.ledger)[("sim", BTC)][1]

        operator = Ledger(default_url(desk.home))  # the CLI's own handle, as `runner promote` opens it
        done = control.promote(operator, "MR_v1", "MR_v2", desk.venues)
        operator.close()
        assert [(m.instrument, m.qty, m.price, m.priced_at) for m in done.moved] == [(BTC, Decimal("0.02"), mark, "mark")]
        desk.step(3)

        assert desk.venue_orders() == venue_orders  # the venue saw no order
        assert desk.sim.positions() == venue_pos
        assert desk.position("MR_v1") == 0 and desk.position("MR_v2") == Decimal("0.02")
        assert desk.ledger.state("MR_v1").state == "retired"  # type: ignore[union-attr]
        assert desk.ledger.state("MR_v2").state == "active"  # type: ignore[union-attr]
        new_pos = next(p for p in desk.ledger.positions(variant="MR_v2") if p.instrument == BTC)
        assert new_pos.avg_price == mark and new_pos.opened is not None
        assert new_pos.opened.replace(tzinfo=None) == opened.replace(tzinfo=None)  # type: ignore[union-attr]
        moved = [f for f in desk.ledger.fills(limit=None) if f.liquidity == TRANSFER]
        assert sorted((f.variant, f.side, f.qty, f.fee, f.client_order_id) for f in moved) == [
            ("MR_v1", "sell", Decimal("0.02"), Decimal(0), None), ("MR_v2", "buy", Decimal("0.02"), Decimal(0), None)]
        rows = {(t.variant, t.trigger, t.to_state, t.actor) for t in desk.ledger.transitions() if t.reason == "handover"}
        assert rows == {("MR_v1", "handover", "retired", "operator"), ("MR_v2", "take_over", "active", "operator")}
        # the running engines adopted it: OLD flat and retired, NEW holds it and manages it
        assert desk.rt.engines["MR_v1"].state.value == "retired" and desk.rt.engines["MR_v1"].is_flat()
        assert desk.rt.engines["MR_v2"].positions[BTC].qty == Decimal("0.02")
        _audit_clean(desk)
        desk.trade("MR_v2", "sell", "0.02", purpose="exit")  # NEW closes what OLD opened, on the venue
        assert desk.position("MR_v2") == 0 and all(p.qty == 0 for p in desk.sim.positions())
        _audit_clean(desk)
    finally:
        desk.close()


def test_promote_with_the_runner_stopped_then_a_restart_manages_it(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    desk.trade("MR_v1", "sell", "0.01")
    desk.close()
    ledger = Ledger(default_url(desk.home))
    from runner.spec.deployment_config import load_venues

    control.promote(ledger, "MR_v1", "MR_v2", load_venues(desk.home), "entry_z 1.25 -> 1.5")
    ledger.close()
    from runner.engine.runtime import Runtime
    from runner.spec.deployment_config import load_runner_config

    ledger = Ledger(default_url(desk.home))
    rt = Runtime(desk.home, ledger, load_venues(desk.home), load_runner_config(desk.home), clock=lambda: 2_000_000.0)
    rt.start()
    try:
        rt.step()
        assert "MR_v1" not in rt.engines or rt.engines["MR_v1"].state.value == "retired"
        assert rt.engines["MR_v2"].positions[BTC].qty == Decimal("-0.01")
        assert rt.engines["MR_v2"].state.value == "active"
        detail = ledger.transitions("MR_v2")[-1].detail
        assert "took over from MR_v1" in detail and "entry_z 1.25 -> 1.5" in detail
    finally:
        rt.stop()
        ledger.close()


def _refused(desk: Desk, old: str, new: str, words: str) -> None:
    before = _dump(desk.ledger)
    with pytest.raises(PromoteRefused, match=words):
        control.promote(desk.ledger, old, new, desk.venues)
    assert _dump(desk.ledger) == before  # nothing written


def test_incompatible_pairs_are_refused_and_write_nothing(tmp_path: Path) -> None:
    desk = _desk(tmp_path, {"MR_v1": (BTC,), "MR_v2": (BTC,), "MR_v3": ("ETH-USD",), "OTHER_v4": (BTC,)})
    try:
        desk.trade("MR_v1", "buy", "0.01")
        _refused(desk, "MR_v1", "MR_v9", "unknown variant 'MR_v9'")
        _refused(desk, "MR_v1", "MR_v1", "the same variant")
        _refused(desk, "MR_v1", "MR_v3", "instruments")
        _refused(desk, "MR_v1", "OTHER_v4", "name")
        _refused(desk, "MR_v2", "MR_v1", "not a higher version")
    finally:
        desk.close()


def test_kind_account_and_mode_must_match(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.01")
        for old, new, words in (("venue: sim", "venue: sim2", "venue"), ("mode: paper", "mode: backtest", "mode")):
            dep = desk.ledger.deployment("MR_v2")
            assert dep is not None and old in dep.yaml_text
            _with_deployment(desk, "MR_v2", dep.yaml_text.replace(old, new), venue=new.split(": ")[1] if "venue" in old else "sim",
                             mode=new.split(": ")[1] if "mode" in old else "paper")
            _refused(desk, "MR_v1", "MR_v2", words)
            _with_deployment(desk, "MR_v2", dep.yaml_text, venue="sim", mode="paper")
        dep = desk.ledger.deployment("MR_v2")
        assert dep is not None
        _with_deployment(desk, "MR_v2", dep.yaml_text, kind="market_making")
        _refused(desk, "MR_v1", "MR_v2", "kind")
        _with_deployment(desk, "MR_v2", dep.yaml_text.replace("entry_z: 1.25", "entry_z: nope"))
        _refused(desk, "MR_v1", "MR_v2", "NEW MR_v2 is not valid")
    finally:
        desk.close()


def _with_deployment(desk: Desk, vid: str, yaml_text: str, **cols: str) -> None:
    """Replay a deployment row as an older or foreign runner recorded it (the checks read it)."""
    from sqlalchemy import update

    from runner.ledger.store import T_DEPLOY

    with desk.ledger.begin() as conn:
        conn.execute(update(T_DEPLOY).where(T_DEPLOY.c.variant == vid).values(yaml_text=yaml_text, **cols))


def test_states_orders_and_holdings_that_refuse(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.01")
        from runner.engine.lifecycle_driver import transition
        from runner.lifecycle import State, Trigger

        transition(desk.ledger, "MR_v1", State.ACTIVE, Trigger.QUARANTINE, "rejected", "test", "system")
        _refused(desk, "MR_v1", "MR_v2", "OLD MR_v1 is quarantined")
        control.resume(desk.ledger, "MR_v1", clear=True)
        transition(desk.ledger, "MR_v2", State.ACTIVE, Trigger.QUARANTINE, "rejected", "test", "system")
        _refused(desk, "MR_v1", "MR_v2", "NEW MR_v2 is quarantined")
        control.resume(desk.ledger, "MR_v2", clear=True)
        desk.step()
        # an order of OLD that may still trade (recorded, its send not answered yet)
        desk.ledger.record_order(dict(
            client_order_id="inflight-1", run_id="main", variant="MR_v1", seq=999, account="sim", instrument=BTC,
            side="sell", qty=Decimal("0.01"), price=Decimal("1"), order_type="limit", tif="gtc", purpose="exit",
            group_id=None, reduce_only=True, created=desk.ledger.orders()[0].created, intent_id=None))
        _refused(desk, "MR_v1", "MR_v2", "in flight")
        desk.ledger.order_event("inflight-1", "not_sent", detail="test")
        desk.trade("MR_v2", "buy", "0.01")
        _refused(desk, "MR_v1", "MR_v2", "NEW MR_v2 already holds")
        desk.trade("MR_v2", "sell", "0.01", purpose="exit")
        control.retire(desk.ledger, "MR_v2")
        _refused(desk, "MR_v1", "MR_v2", "NEW MR_v2 is retiring")
    finally:
        desk.close()


def test_variant_yaml_kit_is_what_the_checks_read() -> None:
    assert "entry_z: 1.25" in variant_yaml("MR_v1") and "venue: sim" in variant_yaml("MR_v1")


def test_an_order_decided_before_the_runner_adopted_the_handover_is_fenced_never_sent(tmp_path: Path) -> None:
    from runner.engine.containment import contained
    from runner.kinds.base import Intent

    desk = _desk(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.02")
        desk.step()
        venue_orders = desk.venue_orders()
        operator = Ledger(default_url(desk.home))
        control.promote(operator, "MR_v1", "MR_v2", desk.venues)
        operator.close()
        # the runner has not adopted it yet: both engines still believe what they believed
        old, new = desk.rt.engines["MR_v1"], desk.rt.engines["MR_v2"]
        contained(old, "exit", old.place, Intent(BTC, "sell", "exit", close=True, urgent=True), desk.event(BTC))
        contained(new, "entry", new.place, Intent(BTC, "buy", "entry", qty=0.01, urgent=True), desk.event(BTC))
        assert old.fenced and new.fenced
        assert desk.venue_orders() == venue_orders  # refused by the fence before any send
        desk.step(3)
        assert desk.venue_orders() == venue_orders
        assert desk.position("MR_v1") == 0 and desk.position("MR_v2") == Decimal("0.02")
        assert desk.rt.engines["MR_v2"] is new and new.fenced is None and new.state.value == "active"
        assert new.positions[BTC].qty == Decimal("0.02")
        desk.trade("MR_v2", "sell", "0.02", purpose="exit")  # NEW trades again under its token
        assert desk.venue_orders() == venue_orders + 1 and desk.position("MR_v2") == 0
        _audit_clean(desk)
    finally:
        desk.close()


def test_the_cli_promotes_a_stopped_deployment_and_refuses_with_exit_2(tmp_path: Path) -> None:
    import json

    from tests.kit.process import cli

    desk = _desk(tmp_path)
    desk.trade("MR_v1", "buy", "0.01")
    desk.close()
    bad = cli(desk.home, "promote", "MR_v2", "MR_v1")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "not a higher version" in bad.stderr
    assert "Traceback" not in bad.stderr
    ok = cli(desk.home, "promote", "MR_v1", "MR_v2", "--json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert (doc["old_state"], doc["new_state"]) == ("retired", "active")
    assert [(m["instrument"], m["qty"]) for m in doc["moved"]] == [(BTC, 0.01)]
    again = cli(desk.home, "promote", "MR_v1", "MR_v2")
    assert again.returncode == 2 and "OLD MR_v1 is retired" in again.stderr
    checks = ("fills_vs_positions", "ledger_vs_venue", "retired_flat", "groups_balanced", "cost_sanity", "orphan_orders")
    audit = cli(desk.home, "audit", *[a for c in checks for a in ("--check", c)], "--json")  # the runner is stopped
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_promote_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The same handover on a shared PostgreSQL ledger: the fence, the transfer and the audits."""
    from tests.kit.deployment import make_home

    desk = Desk.open(make_home(tmp_path, {"MR_v1": (BTC,), "MR_v2": (BTC,)}), db=pg_url)
    ledger = desk.ledger
    try:
        desk.trade("MR_v1", "sell", "0.02")
        _mark(ledger, "29999.5")
        venue_orders = desk.venue_orders()
        operator = Ledger(pg_url)
        done = control.promote(operator, "MR_v1", "MR_v2", desk.venues)
        operator.close()
        assert [(m.qty, m.price) for m in done.moved] == [(Decimal("-0.02"), Decimal("29999.5"))]
        desk.step(3)
        assert desk.venue_orders() == venue_orders
        assert desk.position("MR_v1") == 0 and desk.position("MR_v2") == Decimal("-0.02")
        assert desk.rt.engines["MR_v2"].positions[BTC].qty == Decimal("-0.02")
        _audit_clean(desk)
    finally:
        desk.close()


def test_a_resting_exit_is_handed_over_and_its_fill_is_news(tmp_path: Path) -> None:
    """OLD's exit rests on the venue (post-only at the ask); NEW takes it with the position. When
    the market reaches it, the venue fills it and the fill is NEW's, whoever placed the order."""
    from runner.engine.client_ids import client_order_id
    from venues.base import OrderRequest, OrderType, Side, TimeInForce

    desk = _desk(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.02")
        old = desk.rt.engines["MR_v1"]
        ev = desk.event(BTC)
        cid = client_order_id("main", "MR_v1", old._seq, old.cid_salt)
        req = OrderRequest(cid, BTC, Side.SELL, Decimal("0.02"), OrderType.LIMIT, Decimal(repr(ev.ask)),
                           TimeInForce.POST_ONLY, True)
        rep = old.send(req, "exit")  # through the engine's order path, as a kind resting its exits would
        assert rep is not None and rep.status.value == "new"
        desk.step()
        assert desk.ledger.order_status(cid) == "new"
        venue_orders = desk.venue_orders()

        operator = Ledger(default_url(desk.home))
        done = control.promote(operator, "MR_v1", "MR_v2", desk.venues)
        operator.close()
        assert done.handed == [cid]
        desk.step()
        new = desk.rt.engines["MR_v2"]
        assert cid in new.working and cid not in old.working  # NEW polls and owns it now
        assert [o.client_order_id for o, _s in desk.ledger.orders_with_status({"new"}, variant="MR_v2")] == [cid]
        assert desk.ledger.orders_with_status({"new"}, variant="MR_v1") == []
        from runner.cli.views import status_view

        counts = {v["id"]: v["open_orders"] for v in status_view(desk.ledger)["variants"]}
        assert (counts["MR_v1"], counts["MR_v2"]) == (0, 1)

        sim = desk.sim
        for _ in range(500):  # the market moves until it trades through the resting exit
            if sim.order(cid, BTC).status.value == "filled":  # type: ignore[union-attr]
                break
            desk.now += 1.0
            sim.advance()
        assert sim.order(cid, BTC).status.value == "filled"  # type: ignore[union-attr]
        desk.step(3)
        assert desk.venue_orders() == venue_orders  # the promotion itself sent nothing
        (fill,) = [f for f in desk.ledger.fills(limit=None) if f.client_order_id == cid]
        assert fill.variant == "MR_v2"
        assert desk.position("MR_v1") == 0 and desk.position("MR_v2") == 0
        assert cid not in new.working and new.positions[BTC].qty == 0
        _audit_clean(desk)
    finally:
        desk.close()


def test_the_runbook_has_the_procedure_and_the_agent_finds_it() -> None:
    from runner.readmodels.runbook import Runbook

    book = Runbook.load(Path(__file__).resolve().parents[2] / "runbook")
    assert "proc-change-parameter" in book
    assert book.search("change a parameter without flattening")[0]["id"] == "proc-change-parameter"


def test_an_open_pair_is_handed_over_whole_and_stays_balanced(tmp_path: Path) -> None:
    """A two-leg group (as a funding pair): the transfer fills carry its id, NEW's engine knows
    the group, and NEW's exits close it under the same id; groups_balanced stays clean."""
    eth = "ETH-USD"
    desk = _desk(tmp_path, {"MR_v1": (BTC, eth), "MR_v2": (BTC, eth)})
    try:
        desk.trade("MR_v1", "buy", "0.01", BTC, group="g1")
        desk.trade("MR_v1", "sell", "0.01", eth, group="g1")
        venue_orders = desk.venue_orders()
        operator = Ledger(default_url(desk.home))
        control.promote(operator, "MR_v1", "MR_v2", desk.venues)
        operator.close()
        desk.step()
        assert desk.venue_orders() == venue_orders
        moved = [f for f in desk.ledger.fills(limit=None) if f.liquidity == TRANSFER]
        assert {(f.variant, f.instrument, f.group_id) for f in moved} == {
            ("MR_v1", BTC, "g1"), ("MR_v1", eth, "g1"), ("MR_v2", BTC, "g1"), ("MR_v2", eth, "g1")}
        new = desk.rt.engines["MR_v2"]
        assert new.groups.group_for(BTC) == "g1" and new.groups.group_for(eth) == "g1"
        _audit_clean(desk)
        from runner.kinds.base import Intent

        for sym, side in ((BTC, "sell"), (eth, "buy")):  # as a strategy's exit is routed: to its open group
            (routed,) = new._route(desk.event(sym), [Intent(sym, side, "exit", close=True, urgent=True)])
            assert routed.group == "g1"
            desk.trade("MR_v2", side, "0.01", sym, purpose="exit", group=routed.group)
        closing = [f for f in desk.ledger.fills(variant="MR_v2", limit=None) if f.liquidity != TRANSFER]
        assert [f.group_id for f in closing] == ["g1", "g1"]
        assert desk.position("MR_v2", BTC) == 0 and desk.position("MR_v2", eth) == 0
        _audit_clean(desk)
    finally:
        desk.close()
