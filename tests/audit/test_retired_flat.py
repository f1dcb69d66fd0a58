"""retired_flat, and the invisible-exposure incident replay."""

from __future__ import annotations

from decimal import Decimal

from runner.audit.inputs import adapter_factory, gather_venues, read_ledger
from runner.audit.schedule import AuditWorker
from runner.audit.venue_checks import retired_flat
from tests.kit.deployment import ALERTS_YAML, CAPTURED, make_dust
from tests.kit.desk import Desk
from venues.base import OrderRequest, OrderType, Side, TimeInForce


def _check(d: Desk):  # type: ignore[no-untyped-def]
    led = read_ledger(d.ledger)
    return retired_flat(led, gather_venues(led, d.venues, adapter_factory(d.venues, d.home)))


def test_a_variant_retired_with_only_dust_left_passes(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    make_dust(d, "MR_v1")
    d.retire("MR_v1", steps=3)
    assert d.ledger.state("MR_v1").state == "retired"
    assert d.position("MR_v1") == Decimal("0.0003")
    assert _check(d) == []


def test_invisible_exposure_is_reported_and_alerted_within_one_audit_cycle(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("ETH-USD",)}, runner_yaml=ALERTS_YAML)
    d.trade("MR_v1", "buy", "0.02")
    d.force_retired("MR_v1")  # an old runner retired it without flattening: ~$600 left behind
    CAPTURED.clear()
    worker = AuditWorker(d.ledger.url, d.venues, d.home, d.config.alerts)
    worker.run("retired_flat")  # one cron cycle of the check
    worker.close()
    [f] = _check(d)
    assert (f.check, f.variant, f.runbook, f.evidence["qty"]) == ("retired_flat", "MR_v1", "invisible-exposure",
                                                                 Decimal("0.02"))
    assert any("retired_flat" in title and "MR_v1" in title for title, _ in CAPTURED)
    assert d.ledger.state("MR_v1").state == "retired"  # terminal: alerted, not moved


def test_venue_exposure_on_an_instrument_only_retired_variants_traded_is_reported(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("ETH-USD",), "MR_v2": ("BTC-USD",)})
    make_dust(d, "MR_v1", "ETH-USD")
    d.retire("MR_v1", steps=3)
    # Someone trades the account outside the runner: the ledger never hears of it.
    other = adapter_factory(d.venues, d.home)("sim")
    other.submit(OrderRequest("outside-1", "ETH-USD", Side.BUY, Decimal("0.5"), OrderType.LIMIT,
                              Decimal("2100"), TimeInForce.IOC))
    other.close()
    found = _check(d)
    assert [(f.variant, f.evidence["source"]) for f in found] == [("MR_v1", "venue")]
    assert found[0].evidence["unexplained"] == Decimal("0.5")
