"""The backtest's batch writer: a child process that commits what the replay hands it.

A failed write stops the run with a clear error; a replay killed mid-run still leaves every
batch it handed over committed; a host with other threads writes inline; PostgreSQL goes the
same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ou_bars import write_bars
from runner.engine.backtest import run_backtest
from runner.engine.batch_writer import Batch, ProcessWriter, fill_wire, order_wire
from runner.errors import LedgerWriteError
from runner.ledger.fastpath import dec, ts_for
from runner.ledger.positions import derive
from runner.ledger.store import Ledger, NewFill, fill_row
from runner.spec.load import load_variant

REPO = Path(__file__).resolve().parents[2]


def order_rows(cids: list[str], run: str = "bt-test") -> list[tuple[object, ...]]:
    return [(cid, run, "MR_v13@" + run, n, "sim", "BTC-USD", "buy", "0.1", "30000", "limit", "ioc", "entry", None, 0,
             "2026-01-01 00:00:00.000000", None) for n, cid in enumerate(cids)]


def count(ledger: Ledger, table: str) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() or 0)


def test_a_batch_is_committed_by_the_time_sync_returns(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    w = ProcessWriter(ledger.url)
    try:
        w.write(Batch(orders=order_rows(["a", "b"])))
        w.sync()
        assert count(ledger, "orders") == 2
    finally:
        w.close()


def test_decimals_handed_over_as_text_land_in_the_ledger_as_the_ledger_writes_them(tmp_path: Path) -> None:
    """The replay hands the writer str(d), not the ledger's text (cheaper on the busy side):
    whatever the exponent, the writer stores what `fill_row` / `dec` would have."""
    from datetime import UTC, datetime

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    awkward = [Decimal("1E+2"), Decimal("30000.0"), Decimal("0.00000001"), Decimal("2.50000000"), Decimal("-0"),
               Decimal("0E-8"), Decimal("12345678901234567890.123456789"), Decimal("-7.1E-5")]
    ts = datetime.fromtimestamp(1_600_000_060.5, UTC)
    fills = [NewFill(f"sim:bt-w:R{n}", f"c{n}", "bt-w", "MR_v13@bt-w", "sim", "BTC-USD", "buy", d, d, d, ts)
             for n, d in enumerate(awkward)]
    orders = [dict(client_order_id=f"c{n}", run_id="bt-w", variant="MR_v13@bt-w", seq=n, account="sim",
                   instrument="BTC-USD", side="buy", qty=d, price=None if n % 2 else d, order_type="limit",
                   tif="ioc", purpose="entry", group_id=None, reduce_only=False, intent_id=None)
              for n, d in enumerate(awkward)]
    w = ProcessWriter(ledger.url)
    try:
        w.write(Batch(orders=[order_wire(o, "2026-01-01 00:00:00.000000") for o in orders],
                      fills=[fill_wire(f) for f in fills]))
        w.sync()
    finally:
        w.close()
    with ledger.engine.connect() as conn:
        got = conn.exec_driver_sql("SELECT qty, price, fee, ts FROM fills ORDER BY id").all()
        got_orders = conn.exec_driver_sql("SELECT qty, price FROM orders ORDER BY id").all()
    assert [tuple(r) for r in got] == [(r[7], r[8], r[9], r[13]) for r in (fill_row(f, ts_for("sqlite")) for f in fills)]
    assert [tuple(r) for r in got_orders] == [(dec(o["qty"]), dec(o["price"])) for o in orders]
    assert got[0][0] == "100" and got[1][1] == "30000" and got[4][0] == "0"  # the ledger's one text form


def test_a_failed_write_stops_the_run_and_nothing_after_it_is_written(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    w = ProcessWriter(ledger.url)
    w.write(Batch(orders=order_rows(["a"])))
    w.write(Batch(orders=order_rows(["b", "a"])))  # "a" again: the UNIQUE client order id refuses it
    with pytest.raises(LedgerWriteError, match="IntegrityError"):
        for n in range(100):  # reported on a later hand-over, at the latest on sync
            w.write(Batch(orders=order_rows([f"c{n}"])))
        w.sync()
    with pytest.raises(LedgerWriteError):
        w.close()
    assert count(ledger, "orders") == 1  # the failed batch rolled back whole; later ones dropped


KILLED_REPLAY = """
import os, signal, sys
from runner.engine.batch_writer import Batch, ProcessWriter
sys.path.insert(0, sys.argv[2])
from tests.foundation.test_backtest_writer import order_rows
w = ProcessWriter(sys.argv[1])
for n in range(20):
    w.write(Batch(orders=order_rows([f"k{n}-{i}" for i in range(50)])))
print(w._proc.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the replay dies without syncing
"""


def test_a_killed_replay_leaves_every_batch_it_handed_over_committed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger(url)
    res = subprocess.run([sys.executable, "-c", KILLED_REPLAY, url, str(REPO)], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.returncode == -9, res.stderr
    child = int(res.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)  # it saw the closed pipe and exited
    assert count(ledger, "orders") == 20 * 50


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie (exited, not reaped yet) counts as gone
        return fh.read().split()[2] != "Z"


def test_a_backtest_on_postgres_writes_every_fill_and_the_folded_position(tmp_path: Path, pg_url: str) -> None:
    bars = write_bars(tmp_path / "ou.csv", 3000, seed=3)
    loaded = load_variant(REPO / "strategies.d" / "MR_v13.yaml")
    ledger = Ledger(pg_url)
    try:
        res = run_backtest(loaded, [("BTC-USD", bars)], ledger)
        fills = ledger.fills(res.run_id, limit=None)
        (pos,) = ledger.positions(res.run_id)
        n_orders = len(ledger.orders(res.run_id, limit=100_000))
    finally:
        ledger.close()
    assert res.fills == len(fills) == n_orders > 50
    want = derive((1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts) for f in fills)
    assert (pos.qty, pos.realized_pnl, pos.fees) == (want.qty, want.realized_pnl, want.fees)
    assert dec(pos.fees) == dec(sum((f.fee for f in fills), Decimal(0)))


def test_a_bad_data_row_ends_the_run_with_nothing_kept_and_no_writer_left(tmp_path: Path) -> None:
    import multiprocessing

    from runner.errors import BadInputError

    bars = write_bars(tmp_path / "ou.csv", 2000, seed=5)
    lines = bars.read_text().splitlines()
    lines[1500] = lines[1500].replace(",1.0", ",x")  # a volume that is not a number
    bars.write_text("\n".join(lines) + "\n")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with pytest.raises(BadInputError, match=r"ou.csv:1501: bad bar row"):
            run_backtest(load_variant(REPO / "strategies.d" / "MR_v13.yaml"), [("BTC-USD", bars)], ledger)
        assert multiprocessing.active_children() == []
        assert count(ledger, "orders") == count(ledger, "fills") == 0  # the run's rows are discarded
    finally:
        ledger.close()


def test_a_host_with_other_threads_or_an_in_memory_ledger_writes_inline(tmp_path: Path) -> None:
    import threading

    from runner.engine.batch_writer import InlineWriter, open_writer

    assert isinstance(open_writer(Ledger("sqlite://")), InlineWriter)  # a child cannot share it
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    done = threading.Event()
    other = threading.Thread(target=done.wait)
    other.start()
    try:  # forking now could copy a lock that thread holds: no child process
        assert isinstance(open_writer(ledger), InlineWriter)
    finally:
        done.set()
        other.join()
