"""Incidents from a real desk's post-mortems, replayed through the runtime, the ledger and the sim."""

from __future__ import annotations

from decimal import Decimal

from runner import control
from runner.lifecycle import State
from tests.kit.home import drive, drive_until, make_home, mr_yaml
from venues.sim.adapter import SimAdapter


def _started(tmp_path, **params):  # type: ignore[no-untyped-def]
    home = make_home(tmp_path)
    home.add_variant("MR_v13.yaml", mr_yaml(**params))
    rt = home.runtime()
    rt.start()
    drive(rt, 21)  # window 20: warm
    assert rt.engines["MR_v13"].state is State.ACTIVE
    return home, rt


def _sim(rt) -> SimAdapter:  # type: ignore[no-untyped-def]
    return rt.adapters["sim"]


def test_rounded_fill_is_accepted_flagged_and_the_position_is_still_managed_to_exit(tmp_path) -> None:
    _home, rt = _started(tmp_path, max_hold="1h")
    eng = rt.engines["MR_v13"]
    _sim(rt).faults.append("round_fill")
    drive_until(rt, lambda: bool(rt.ledger.fills()))
    drive(rt, 1)
    (first,) = rt.ledger.fills()
    order = rt.ledger.order_row(first.client_order_id or "")
    assert order is not None and first.qty < order.qty  # e.g. 0.066594 for 0.0666
    assert rt.ledger.order_status(order.client_order_id) == "filled"
    assert eng.anomalies and "filled" in eng.anomalies[0]
    assert rt.ledger.fills()[0].flag == "data_anomaly"  # the fill stands, flagged for the audits
    assert eng.state is State.ACTIVE  # not killed
    # the position is managed to exit: the exit closes what the lot allows, the rest is dust
    drive_until(rt, lambda: len(rt.ledger.fills()) >= 2)
    drive(rt, 1)
    (pos,) = rt.ledger.positions()
    inst = _sim(rt).instrument("BTC-USD")
    assert pos.qty == 0 or inst.is_dust(pos.qty, pos.avg_price)
    assert [t.to_state for t in rt.ledger.transitions("MR_v13")] == ["warming", "active"]


def test_rejections_quarantine_and_nothing_auto_resumes_until_resume_clear(tmp_path) -> None:
    home, rt = _started(tmp_path)
    eng = rt.engines["MR_v13"]
    _sim(rt).faults.append("reject")
    drive_until(rt, lambda: eng.state is State.QUARANTINED)
    (last,) = rt.ledger.transitions("MR_v13")[-1:]
    assert last.reason == "rejected" and "band" in last.detail
    drive(rt, 200)  # time passes: no auto-resume loop
    assert eng.state is State.QUARANTINED
    rt.stop()
    rt2 = home.runtime()  # and a restart does not clear it either
    rt2.start()
    drive(rt2, 50)
    assert rt2.engines["MR_v13"].state is State.QUARANTINED
    control.resume(rt2.ledger, "MR_v13", clear=True)
    drive(rt2, 1)
    assert rt2.engines["MR_v13"].state is State.ACTIVE
    assert rt2.rejections.get("MR_v13", 0) == 0
    rows = rt2.ledger.transitions("MR_v13")
    assert (rows[-1].from_state, rows[-1].to_state, rows[-1].actor) == ("quarantined", "active", "operator")


def test_ambiguous_submit_is_found_by_client_id_not_resubmitted_and_not_counted(tmp_path) -> None:
    _home, rt = _started(tmp_path)
    sim = _sim(rt)
    sim.faults.append("timeout_after_accept")
    drive_until(rt, lambda: "timeout_after_accept" not in sim.faults)
    drive(rt, 1)
    orders = rt.ledger.orders()
    (first,) = orders[:1]
    venue_side = sim.store.db.execute("SELECT COUNT(*) FROM orders WHERE client_order_id=?",
                                      (first.client_order_id,)).fetchone()[0]
    assert venue_side == 1
    assert rt.ledger.order_status(first.client_order_id) in ("filled", "cancelled")
    assert rt.engines["MR_v13"].state is State.ACTIVE
    assert [t.to_state for t in rt.ledger.transitions("MR_v13")] == ["warming", "active"]
    assert rt.ledger.fills()[0].client_order_id == first.client_order_id


def test_a_venue_outage_backs_off_and_auto_resumes(tmp_path) -> None:
    _home, rt = _started(tmp_path)
    eng = rt.engines["MR_v13"]
    sim = _sim(rt)
    sim.faults.append("down:submit")
    drive_until(rt, lambda: eng.state is State.BACKOFF)
    sim.faults.remove("down:submit")
    rt.backoff["MR_v13"].until = 0  # the delay has elapsed
    drive(rt, 1)
    assert eng.state is State.ACTIVE
    reasons = [(t.to_state, t.reason) for t in rt.ledger.transitions("MR_v13")][-2:]
    assert reasons == [("backoff", "transient"), ("active", "transient")]


def test_transient_errors_past_the_retry_limit_quarantine(tmp_path) -> None:
    home = make_home(tmp_path, runner_yaml="backoff: {base_s: 0.0, cap_s: 0.0, max_attempts: 2}\n")
    home.add_variant("MR_v13.yaml", mr_yaml())
    rt = home.runtime()
    clock = iter(range(1_700_000_000, 1_800_000_000, 5))
    rt.clock = lambda: float(next(clock))  # 5 s per step: every backoff (1 s venue hint) elapses
    rt.start()
    drive(rt, 21)
    eng = rt.engines["MR_v13"]
    _sim(rt).faults.append("down:submit")
    drive_until(rt, lambda: eng.state is State.QUARANTINED)
    states = [t.to_state for t in rt.ledger.transitions("MR_v13")]
    assert states.count("backoff") == 2 and states[-1] == "quarantined"


def test_paused_and_quarantined_variants_still_exit_their_positions(tmp_path) -> None:
    _home, rt = _started(tmp_path)
    drive_until(rt, lambda: any(p.qty for p in rt.ledger.positions()))
    control.pause(rt.ledger, "MR_v13", "manual check")
    drive(rt, 1)
    eng = rt.engines["MR_v13"]
    assert eng.state is State.PAUSED
    drive_until(rt, lambda: all(p.qty == 0 for p in rt.ledger.positions()))
    entries_after_pause = [o for o in rt.ledger.orders() if o.purpose == "entry"]
    assert len(entries_after_pause) == 1  # the exit happened, no new entry
    drive(rt, 300)  # plenty of entry signals come while paused: each is skipped, none placed
    assert len([o for o in rt.ledger.orders() if o.purpose == "entry"]) == 1
    assert eng.skips.get("state_paused", 0) + rt.ledger.skips(variant="MR_v13").get("state_paused", 0) > 0
    assert Decimal(0) == sum(p.qty for p in rt.ledger.positions())


def test_an_order_the_venue_never_saw_is_marked_not_sent_and_frees_the_instrument(tmp_path) -> None:
    import time as _time
    from datetime import UTC, datetime

    from runner.engine.variant import WorkingOrder
    from venues.base import OrderRequest, OrderType, Side, TimeInForce

    _home, rt = _started(tmp_path, entry_z=50)  # no signals of its own
    clock = [_time.time()]
    rt.clock = lambda: clock[0]
    eng = rt.engines["MR_v13"]
    cid = "e" * 32  # written before sending; the send itself never reached the venue
    req = OrderRequest(cid, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT, Decimal("29000"), TimeInForce.GTC)
    eng.sink.order(dict(client_order_id=cid, run_id="main", variant="MR_v13", seq=999, account="sim",
                        instrument="BTC-USD", side="buy", qty=req.qty, price=req.price, order_type="limit",
                        tif="gtc", purpose="entry", created=datetime.now(UTC)))
    eng.working[cid] = WorkingOrder(req, "entry")
    for _ in range(2):
        clock[0] += 2.5
        drive(rt, 1)
    assert cid in eng.working  # not given up after one or two looks
    for _ in range(2):
        clock[0] += 2.5
        drive(rt, 1)
    assert cid not in eng.working
    assert rt.ledger.order_status(cid) == "not_sent"
    assert _sim(rt).order(cid, "BTC-USD") is None  # and nothing was sent in its place
