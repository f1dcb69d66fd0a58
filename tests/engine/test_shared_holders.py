"""Shared-instrument exits see every holder of the account, not only this runner's variants.

The venue holds one position per account and instrument. Who else holds it is read from the
ledger: a variant traded by another runner on the same ledger (sqlite and PostgreSQL), or a
retired variant still holding a position, makes an exit go without reduce-only (the sim
refuses a reduce-only order that would not reduce, as Hyperliquid does), also when this runner
read the other runner's fill from the venue before that runner wrote it; once the other holder
is flat again, reduce-only comes back: the cache is refreshed by the fills read.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.kinds.base import Intent
from tests.kit.deployment import make_home, variant_yaml
from tests.kit.desk import Desk


def _hold(d: Desk) -> None:
    for eng in d.rt.engines.values():
        eng.strategy.on_event = lambda ev, views: "held_by_test"  # type: ignore[method-assign]


def _exit(d: Desk, vid: str) -> tuple[bool, str]:
    """``vid`` closes its position through its engine; (sent reduce-only, final status)."""
    eng = d.rt.engines[vid]
    rep = eng.place(Intent("BTC-USD", "sell" if eng.positions["BTC-USD"].qty > 0 else "buy", "exit", close=True,
                           urgent=True), d.event("BTC-USD"))
    assert rep is not None, eng.last_error
    d.step()
    row = d.ledger.order_row(rep.client_order_id)
    assert row is not None
    return row.reduce_only, d.ledger.order_status(rep.client_order_id) or ""


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_an_exit_sees_the_variant_another_runner_trades_on_the_account(tmp_path: Path, db: str,
                                                                       request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    # leases outlive the test: each runner keeps its variant however long the other one's steps take
    home = make_home(tmp_path, {"MR_v1": ("BTC-USD",)}, runner_yaml="lease_ttl_s: 600\n")
    a = Desk.open(home, db=url)
    b: Desk | None = None
    try:
        (home / "strategies.d" / "MR_v2.yaml").write_text(variant_yaml("MR_v2"))
        b = Desk.open(home, db=url)  # a second runner on the same ledger and account takes MR_v2
        assert (list(a.rt.engines), list(b.rt.engines)) == (["MR_v1"], ["MR_v2"])
        _hold(a)
        _hold(b)
        a.trade("MR_v1", "buy", "0.0100")
        v2 = b.rt.engines["MR_v2"]
        b.step()  # b reads MR_v1's fill from the account too
        assert b.rt.holders.shared(v2, "BTC-USD")  # MR_v1 of the other runner holds it
        assert b.place("MR_v2", "sell", 0.02, urgent=True) is not None  # filled on the venue, not read by b yet
        assert a.sim.store.position("BTC-USD")[0] == Decimal("-0.0100")  # one venue position for both
        a.step()  # a reads MR_v2's fill before b wrote it to the ledger
        assert a.position("MR_v2") == 0 and a.rt.holders.shared(a.rt.engines["MR_v1"], "BTC-USD")
        # MR_v1's reduce-only sell would increase the account's short: it goes without the flag
        assert _exit(a, "MR_v1") == (False, "filled")
        assert a.position("MR_v1") == 0 and a.state("MR_v1") == "active"
        b.step()  # b writes its fill and reads MR_v1's exit: the cached holders are read again
        assert b.position("MR_v2") == Decimal("-0.0200")
        assert not b.rt.holders.shared(v2, "BTC-USD")
        assert _exit(b, "MR_v2") == (True, "filled")  # the only holder again: reduce-only, and it fits
        assert b.position("MR_v2") == 0 == b.sim.store.position("BTC-USD")[0]
        assert b.state("MR_v2") == "active"
    finally:
        if b is not None:
            b.close()
        a.close()


def test_an_exit_sees_a_retired_variant_still_holding_the_instrument(tmp_path: Path) -> None:
    home = make_home(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",)})
    d = Desk.open(home)
    _hold(d)
    d.trade("MR_v1", "sell", "0.0200")
    d.trade("MR_v2", "buy", "0.0100")
    d.force_retired("MR_v1")  # retired by an old runner without flattening: it still holds -0.02
    d.close()
    d = Desk.open(home)  # a restart: the retired variant has no engine, its position stays in the ledger
    try:
        assert list(d.rt.engines) == ["MR_v2"] and d.position("MR_v1") == Decimal("-0.0200")
        _hold(d)
        assert _exit(d, "MR_v2") == (False, "filled")  # reduce-only would have been refused
        assert d.position("MR_v2") == 0 and d.state("MR_v2") == "active"
        assert d.sim.store.position("BTC-USD")[0] == Decimal("-0.0200") == d.position("MR_v1")
    finally:
        d.close()
