"""Ledger: idempotent fills, positions derived from fills, client ids unique before sending."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from runner.errors import BadInputError
from runner.ledger import models as m
from runner.ledger.positions import PositionState, apply_fill, derive
from runner.ledger.store import Ledger, NewFill

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(key: str, side: str, qty: str, price: str, fee: str = "0") -> NewFill:
    return NewFill(key, "c1", "main", "MR_v13", "sim", "BTC-USD", side, D(qty), D(price), D(fee), T0)


def test_the_same_fill_twice_changes_nothing(tmp_path) -> None:
    led = Ledger(f"sqlite:///{tmp_path}/l.db")
    assert len(led.apply_fills([_fill("sim:1", "buy", "0.5", "100", "0.1")])) == 1
    before = led.positions()
    assert led.apply_fills([_fill("sim:1", "buy", "0.5", "100", "0.1")]) == []
    # and within one batch too
    assert len(led.apply_fills([_fill("sim:2", "buy", "0.5", "110"), _fill("sim:2", "buy", "0.5", "110")])) == 1
    after = led.positions()
    assert before[0].qty == D("0.5") and after[0].qty == D("1.0")
    assert after[0].avg_price == D("105")
    assert len(led.fills()) == 2


def test_average_cost_and_realized_pnl_through_a_flip() -> None:
    pos = PositionState()
    pos = apply_fill(pos, 1, D(2), D(100), D("0.2"), T0)
    pos = apply_fill(pos, 1, D(2), D(110), D("0.2"), T0)
    assert pos.qty == 4 and pos.avg_price == 105
    pos = apply_fill(pos, -1, D(1), D(120), D("0.1"), T0)
    assert pos.qty == 3 and pos.realized_pnl == 15 and pos.avg_price == 105
    pos = apply_fill(pos, -1, D(5), D(100), D("0.5"), T0)  # close 3 at -5 each, open short 2 at 100
    assert pos.qty == -2 and pos.avg_price == 100 and pos.realized_pnl == 0
    assert pos.fees == D("1.0")
    assert pos.unrealized(D(90)) == 20


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(1, 50), st.integers(90, 110)), max_size=40))
def test_positions_conserve_quantity_and_cash(trades: list[tuple[int, int, int]]) -> None:
    pos = derive((s, D(q), D(p), D(0), T0) for s, q, p in trades)
    assert pos.qty == sum(s * q for s, q, _ in trades)
    cash = -sum(s * q * p for s, q, p in trades)
    # realized + unrealized at any mark equals cash + qty * mark (average cost divides:
    # 28 significant digits, so equal to far below a satoshi)
    assert abs(pos.realized_pnl + pos.unrealized(D(100)) - (cash + pos.qty * 100)) < D("1e-18")


def test_an_order_client_id_is_unique_before_anything_is_sent(tmp_path) -> None:
    led = Ledger(f"sqlite:///{tmp_path}/l.db")
    row = dict(client_order_id="abc", run_id="main", variant="MR_v13", seq=1, account="sim", instrument="BTC-USD",
               side="buy", qty=D(1), price=D(100), order_type="limit", tif="ioc", purpose="entry", created=T0)
    led.record_order(row)
    with pytest.raises(IntegrityError):
        led.record_order({**row, "seq": 2})
    assert led.order_status("abc") == "submitting"


def test_decimals_round_trip_exactly(tmp_path) -> None:
    led = Ledger(f"sqlite:///{tmp_path}/l.db")
    led.apply_fills([_fill("sim:9", "buy", "0.024098", "30000.123456789", "0.00000001")])
    (f,) = led.fills()
    assert f.qty == D("0.024098") and f.price == D("30000.123456789") and f.fee == D("0.00000001")


def test_an_unopenable_database_url_is_bad_input(tmp_path) -> None:
    with pytest.raises(BadInputError):
        Ledger("nosuchdialect://x/y")
    with pytest.raises(BadInputError):
        Ledger(f"sqlite:///{tmp_path}/missing/dir/l.db", create=False)


def test_an_older_ledger_is_migrated_in_place_on_open(tmp_path) -> None:
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path}/l.db"
    led = Ledger(url)
    led.apply_fills([_fill("sim:1", "buy", "1", "100")])
    with led.begin() as conn:  # make it look like a version-1 ledger
        conn.execute(text("ALTER TABLE orders DROP COLUMN intent_id"))
        conn.execute(text("UPDATE schema_version SET version = 1"))
    led.close()
    again = Ledger(url)
    with again.engine.connect() as conn:
        cols = {r[1] for r in conn.execute(text("PRAGMA table_info(orders)"))}
        assert "intent_id" in cols
        assert conn.execute(text("SELECT version FROM schema_version")).scalar() == m.SCHEMA_VERSION
    assert again.positions()[0].qty == 1


def test_processes_opening_a_fresh_ledger_at_once_all_succeed(tmp_path) -> None:
    import subprocess
    import sys

    code = f"from runner.ledger.store import Ledger; Ledger('sqlite:///{tmp_path}/l.db')"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [p.communicate()[1] for p in procs if p.wait() != 0]
    assert errors == []


def test_the_hot_path_order_write_reads_back_exactly_like_the_orm_write(tmp_path) -> None:
    led = Ledger(f"sqlite:///{tmp_path}/l.db")
    row = dict(client_order_id="fast", run_id="main", variant="MR_v13", seq=7, account="sim", instrument="BTC-USD",
               side="sell", qty=D("0.0241"), price=D("30000.10"), order_type="limit", tif="ioc", purpose="exit",
               group_id="g1", reduce_only=True, created=T0)
    led.record_order(row)  # SQLite: the driver-level fast path
    with led.begin() as conn:  # the same row through SQLAlchemy Core
        led.record_order({**row, "client_order_id": "core"}, conn)
    fast, core = led.order_row("fast"), led.order_row("core")
    assert fast is not None and core is not None
    for field in ("qty", "price", "side", "tif", "purpose", "group_id", "reduce_only", "created", "seq"):
        assert getattr(fast, field) == getattr(core, field), field
    assert fast.qty == D("0.0241") and fast.price == D("30000.1") and fast.reduce_only is True
    assert led.order_status("fast") == led.order_status("core") == "submitting"
