"""Dust: report, plan, confirm; and the dust phantom-closes incident replay (in process)."""

from __future__ import annotations

from decimal import Decimal

from runner import control
from runner.audit.run import run_checks
from tests.kit.deployment import make_dust
from tests.kit.desk import Desk

VARIANTS = {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD", "ETH-USD"), "MR_v3": ("BTC-USD",)}


def _dusty(tmp_path) -> Desk:  # type: ignore[no-untyped-def]
    d = Desk.create(tmp_path, VARIANTS)
    for v in VARIANTS:
        make_dust(d, v)
    make_dust(d, "MR_v2", "ETH-USD")
    d.retire("MR_v1", steps=3)
    d.retire("MR_v3", steps=3)
    return d


def test_startup_sends_no_order_because_of_dust(tmp_path) -> None:
    d = _dusty(tmp_path)
    d.close()
    from runner.engine.runtime import Runtime
    from runner.ledger.store import Ledger, default_url
    from runner.spec.deployment_config import load_runner_config, load_venues

    ledger = Ledger(default_url(d.home))
    orders = len(ledger.orders())
    rt = Runtime(d.home, ledger, load_venues(d.home), load_runner_config(d.home), clock=lambda: 2e6)
    rt.start()
    for _ in range(20):
        rt.step()
    assert len(ledger.orders()) == orders
    assert set(rt.engines) == {"MR_v2"}  # retired variants are not even started
    assert rt.engines["MR_v2"].views == {}  # dust is invisible to the strategy
    rt.stop()


def test_dust_report_lists_every_fragment_retired_included(tmp_path) -> None:
    d = _dusty(tmp_path)
    frags = control.dust_report(d.ledger)
    assert {(f.variant, f.instrument, f.state) for f in frags} == {
        ("MR_v1", "BTC-USD", "retired"), ("MR_v2", "BTC-USD", "active"), ("MR_v3", "BTC-USD", "retired"),
        ("MR_v2", "ETH-USD", "active"),
    }
    assert all(f.value < 10 and f.age_s is not None and f.venue == "sim" for f in frags)


def test_close_dust_plans_without_changing_anything(tmp_path) -> None:
    d = _dusty(tmp_path)
    orders, fills = len(d.ledger.orders()), len(d.ledger.fills())
    items, outcomes = control.close_dust(d.ledger, d.venues, d.home)
    assert outcomes == []
    by = {i.instrument: i for i in items}
    assert (by["BTC-USD"].action, by["BTC-USD"].side, by["BTC-USD"].qty) == ("order", "sell", Decimal("0.0009"))
    assert by["ETH-USD"].action == "none" and "would take a buy of 0.002" in by["ETH-USD"].note
    assert (len(d.ledger.orders()), len(d.ledger.fills())) == (orders, fills)


def test_close_dust_confirm_flattens_every_variant_and_audits_still_pass(tmp_path) -> None:
    d = _dusty(tmp_path)
    venue_orders = d.venue_orders()
    _, outcomes = control.close_dust(d.ledger, d.venues, d.home, confirm=True)
    done = {o.instrument: o for o in outcomes}
    assert done["BTC-USD"].status == "done"
    assert sorted(done["BTC-USD"].flattened) == ["MR_v1", "MR_v2", "MR_v3"]
    assert d.venue_orders() == venue_orders + 1  # one order for the whole aggregate
    order = d.ledger.order_row(done["BTC-USD"].client_order_id)
    assert (order.purpose, order.variant, order.reduce_only) == ("close_dust", "close_dust:sim", True)
    assert d.ledger.order_status(order.client_order_id) == "filled"
    for v in VARIANTS:
        assert d.position(v, "BTC-USD") == 0
    assert d.position("close_dust:sim") == 0
    assert d.position("MR_v2", "ETH-USD") == Decimal("0.004")  # not closeable: left recorded
    d.step(2)  # the running runner reads the same venue fill: applied once
    findings = run_checks(d.ledger, d.venues, d.home,
                          ["fills_vs_positions", "ledger_vs_venue", "retired_flat", "cost_sanity"], act=False)
    assert findings == []
    assert [i.instrument for i in control.close_dust(d.ledger, d.venues, d.home)[0]] == ["ETH-USD"]


def test_dust_netting_to_zero_is_a_transfer_without_an_order(tmp_path) -> None:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",)})
    make_dust(d, "MR_v1")
    d.trade("MR_v2", "sell", "0.0010")
    d.trade("MR_v2", "buy", "0.0007", purpose="exit")
    venue_orders = d.venue_orders()
    [item], [out] = control.close_dust(d.ledger, d.venues, d.home, confirm=True)
    assert (item.action, out.status) == ("transfer", "done")
    assert d.venue_orders() == venue_orders
    assert d.position("MR_v1") == d.position("MR_v2") == 0
    assert run_checks(d.ledger, d.venues, d.home, ["fills_vs_positions", "ledger_vs_venue"], act=False) == []
