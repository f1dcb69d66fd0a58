"""groups_balanced, and the unbalanced-pair incident replay."""

from __future__ import annotations

from decimal import Decimal

from runner.audit import store
from runner.audit.findings import Severity
from runner.audit.inputs import read_ledger
from runner.audit.ledger_checks import groups_balanced
from runner.audit.run import run_checks
from tests.kit.desk import Desk


def _desk(tmp_path) -> Desk:  # type: ignore[no-untyped-def]
    return Desk.create(tmp_path, {"ARB_v1": ("BTC-USD", "ETH-USD")})


def test_a_pair_with_both_legs_filled_equally_is_balanced(tmp_path) -> None:
    d = _desk(tmp_path)
    d.trade("ARB_v1", "buy", "0.02", "BTC-USD", group="g1")
    d.trade("ARB_v1", "sell", "0.02", "ETH-USD", group="g1")
    assert groups_balanced(read_ledger(d.ledger), {}) == []


def test_unbalanced_pair_is_reported_and_nothing_deletes_it(tmp_path) -> None:
    d = _desk(tmp_path)
    d.trade("ARB_v1", "buy", "0.02", "BTC-USD", group="g1")
    d.sim.faults.append("reject")  # the second leg is refused by the venue
    d.trade("ARB_v1", "sell", "0.02", "ETH-USD", group="g1")
    orders, fills = len(d.ledger.orders()), len(d.ledger.fills())
    found = run_checks(d.ledger, d.venues, d.home, ["groups_balanced"], act=False)
    [f] = found
    assert (f.check, f.severity, f.variant, f.runbook) == ("groups_balanced", Severity.CRITICAL, "ARB_v1",
                                                          "unbalanced-pair")
    assert f.evidence["legs"] == {"BTC-USD": Decimal("0.02"), "ETH-USD": Decimal(0)}
    run_checks(d.ledger, d.venues, d.home, ["groups_balanced"], act=False)
    assert (len(d.ledger.orders()), len(d.ledger.fills())) == (orders, fills)  # nothing deleted
    [row] = store.open_findings(d.ledger, "groups_balanced")
    assert row.seen == 2  # persisting: updated, not duplicated
    # The runbook procedure: flatten the orphan leg inside its group; the finding then closes.
    d.trade("ARB_v1", "sell", "0.02", "BTC-USD", purpose="exit", group="g1")
    assert run_checks(d.ledger, d.venues, d.home, ["groups_balanced"], act=False) == []
    assert store.open_findings(d.ledger, "groups_balanced") == []
    assert store.all_findings(d.ledger)[0].closed is not None


ARB = """name: ARB
version: 1
kind: funding_arb
venue: sim
mode: paper
instruments: [BTC-USD, BTC-PERP]
params: {pair_timeout: 30s, open_apr: 0.2, close_apr: 0.05, order_notional: 1000}
risk: {max_order_notional: 100000, max_position_notional: 1000000, max_daily_loss: 100000}
"""


def _arb_desk(tmp_path) -> Desk:  # type: ignore[no-untyped-def]
    from tests.kit.deployment import make_home

    home = make_home(tmp_path, {})
    (home / "strategies.d" / "ARB_v1.yaml").write_text(ARB)
    return Desk.open(home)


def _leg(d: Desk, side: str, qty: str, sym: str) -> None:
    """One leg of group g1 through the engine's order path. Not ``Desk.trade``: that refuses an
    entry the runner would not send, and this funding_arb, handed 1m bars of a still market,
    stays warming; the audit under test only needs the legs in the ledger."""
    from runner.kinds.base import Intent

    d.engine("ARB_v1").place(Intent(sym, side, "entry", qty=float(qty), urgent=True, group="g1"), d.event(sym))
    d.step()


def test_a_legged_pair_inside_its_kinds_repair_window_is_a_warning_then_a_breach(tmp_path) -> None:
    """funding_arb repairs a legged pair itself (wait, top up, unwind: three pair_timeouts from
    its last fill). Inside that window on the market clock the runner has processed (its
    heartbeat's market time), the audit warns; past it with the legs still apart, critical; and
    a runner that stopped beating does not freeze the window: the wall time since counts."""
    from dataclasses import replace
    from datetime import timedelta

    d = _arb_desk(tmp_path)
    _leg(d, "buy", "0.02", "BTC-USD")
    d.sim.faults.append("reject")  # the perp leg is refused: the pair is legged
    _leg(d, "sell", "0.02", "BTC-PERP")
    d.rt.stop()
    [filled] = d.ledger.fills()
    d.ledger.heartbeat("r-other", "host", 1, filled.ts + timedelta(seconds=10))  # a runner 10 s of market time on
    [f] = groups_balanced(read_ledger(d.ledger), {})
    assert (f.severity, f.evidence["repairing"], f.evidence["repair_window_s"]) == (Severity.WARNING, True, 90.0)
    led = read_ledger(d.ledger)
    later = replace(led, now=led.now + timedelta(seconds=120))  # no beat for two minutes: the runner is gone
    [f] = groups_balanced(later, {})
    assert (f.severity, f.evidence["repairing"]) == (Severity.CRITICAL, False)
    d.ledger.heartbeat("r-other", "host", 1, filled.ts + timedelta(seconds=100))  # past the window, legs apart
    [f] = groups_balanced(read_ledger(d.ledger), {})
    assert (f.severity, f.evidence["repairing"]) == (Severity.CRITICAL, False)


def test_legs_within_the_kinds_declared_mismatch_are_balanced(tmp_path) -> None:
    """funding_arb calls legs within ``max_leg_mismatch`` (1%) balanced and never repairs them:
    the audit agrees instead of calling a 0.5% difference a breach forever."""
    d = _arb_desk(tmp_path)
    ledger = d.ledger
    _leg(d, "buy", "0.0200", "BTC-USD")
    _leg(d, "sell", "0.0199", "BTC-PERP")
    assert groups_balanced(read_ledger(ledger), {}) == []
    _leg(d, "sell", "0.0010", "BTC-PERP")  # now 5% apart: not within it
    [f] = groups_balanced(read_ledger(ledger), {})
    assert f.evidence["legs"] == {"BTC-USD": Decimal("0.0200"), "BTC-PERP": Decimal("-0.0209")}
    d.rt.stop()
