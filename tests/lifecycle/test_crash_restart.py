"""Kill -9 a busy runner at random points, restart it, and check the ledger against the venue."""

from __future__ import annotations

import random
import signal
import time
from decimal import Decimal

from runner.ledger.positions import derive
from runner.ledger.store import Ledger, default_url
from tests.kit.home import mr_yaml
from tests.kit.process import FAST_RUNNER, FAST_SIM, start_runner, stop_runner, wait_for
from venues.sim.adapter import SimAdapter
from venues.sim.config import SimConfig

KILLS = 6


def _caught_up(ledger_url: str, sim_db) -> bool:  # type: ignore[no-untyped-def]
    """The ledger has every fill the venue has booked (read from both stores, read-only)."""
    import sqlite3

    venue = sqlite3.connect(f"file:{sim_db}?mode=ro", uri=True)
    try:
        booked = {f"sim:{r[0]}" for r in venue.execute("SELECT fill_id FROM fills")}
    finally:
        venue.close()
    led = Ledger(ledger_url)
    try:
        return booked <= {f.fill_key for f in led.fills(limit=None)}
    finally:
        led.close()


def _orders(ledger_url: str) -> int:
    """Orders the ledger holds (0 before the first runner made it), read-only."""
    import sqlite3

    path = ledger_url.removeprefix("sqlite:///")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        db.close()


def test_sigkill_at_random_points_never_duplicates_loses_or_double_applies(tmp_path) -> None:
    (tmp_path / "strategies.d").mkdir()
    # a busy variant: short window, low thresholds, so orders fly several times a second
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(mr_yaml(window=5, entry_z=0.6, exit_z=0.1))
    (tmp_path / "venues.yaml").write_text(FAST_SIM)
    # a short lease: after a kill the next runner takes the variant over within 2 s and trades
    (tmp_path / "runner.yaml").write_text(FAST_RUNNER + "lease_ttl_s: 2\n")
    rng = random.Random(1234)
    ledger_url = default_url(tmp_path)
    for _ in range(KILLS):
        before = _orders(ledger_url)
        proc = start_runner(tmp_path)
        # the random point is counted in this runner's own orders, then a random instant: a fixed
        # delay from its start killed it before it traded on a loaded machine (the start alone,
        # imports and warm-up, can take longer), and such a kill tests no crash in the order path
        sent = before + rng.randint(2, 6)
        wait_for(lambda p=proc, n=sent: _orders(ledger_url) >= n or p.poll() is not None, timeout=120, every=0.05)
        assert proc.poll() is None, (tmp_path / "runner.log").read_text()[-3000:]
        time.sleep(rng.random() * 0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # a last, clean run lets the restart reconcile everything that was in flight: it takes the
    # lease over (at most lease_ttl_s after the last kill), then reads what the venue filled
    sim_db = tmp_path / "state" / "sim" / "sim.db"
    proc = start_runner(tmp_path)
    try:
        wait_for(lambda: _caught_up(ledger_url, sim_db), timeout=60, every=0.5)
        time.sleep(1.0)
    finally:
        stop_runner(proc)
    log = (tmp_path / "runner.log").read_text()

    led = Ledger(ledger_url)
    fills = led.fills(limit=None)
    assert len(fills) > 10, log[-3000:]
    # no fill applied twice, every fill belongs to an order we wrote before sending
    assert len({f.fill_key for f in fills}) == len(fills)
    orders = {o.client_order_id for o in led.orders(limit=100_000)}
    assert all(f.client_order_id in orders for f in fills)
    # positions equal what the fills imply
    (pos,) = led.positions()
    implied = derive((1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts) for f in fills)
    assert (pos.qty, pos.avg_price, pos.realized_pnl, pos.fees) == (
        implied.qty, implied.avg_price, implied.realized_pnl, implied.fees)
    # ... and equal the venue's, which keeps its own books
    sim = SimAdapter("sim", SimConfig(clock="manual"), tmp_path / "state" / "sim" / "sim.db")
    venue = {p.instrument: p.qty for p in sim.positions()}
    assert venue.get("BTC-USD", Decimal(0)) == pos.qty
    venue_fills, cursor = [], None
    while True:
        page = sim.fills(cursor)
        if not page.fills:
            break
        venue_fills += page.fills
        cursor = page.cursor
    assert {f"sim:{f.fill_id}" for f in venue_fills} == {f.fill_key for f in fills}
    # no client order id ever reached the venue twice (the sim refuses duplicates)
    dup = sim.store.db.execute("SELECT COUNT(*) FROM orders WHERE reason LIKE 'duplicate%'").fetchone()[0]
    assert dup == 0
    assert "duplicate client order id" not in log
    # the recorded state agrees with the last transition row
    state = led.state("MR_v13")
    last = led.transitions("MR_v13")[-1]
    assert state is not None and state.state == last.to_state
