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
