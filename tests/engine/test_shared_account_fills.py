"""Two runners on one venue account: neither consumes the other's fills.

The real runtime, ledger and sim. Two deployments (two ledgers) share one sim account through
its ``store:``; two runners share one ledger and one account, each holding its own variant.
Every fill of a variant's orders must reach the engine that placed the order (``on_fill``:
its PnL for the day, its stop-loss, its round trips), not only the ledger, and be booked once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from runner.engine.runtime import Runtime
from runner.ledger import fill_cursors
from runner.ledger.store import Ledger
from tests.kit.home import drive, make_home, mr_yaml

BUSY = {"window": 3, "entry_z": 0.2, "exit_z": 0.1, "max_hold": "5s", "order_notional": 500}


def _shared_sim(store: Path) -> str:
    return f"sim:\n  adapter: sim\n  seed: 7\n  clock: manual\n  store: {store}\n"


def _watch(rt: Runtime, seen: dict[str, set[str]]) -> None:
    """Note each fill an engine of ``rt`` was told about (chained before the reporter)."""
    for eng in rt.engines.values():
        if getattr(eng, "_watched", False):
            continue
        report = eng.on_fill_cb

        def cb(e, f, report=report):  # type: ignore[no-untyped-def]
            seen.setdefault(e.id, set()).add(f.fill_key)
            if report:
                report(e, f)

        eng.on_fill_cb = cb
        eng._watched = True  # type: ignore[attr-defined]


def _fill_keys(led: Ledger, variant: str) -> set[str]:
    with led.engine.connect() as conn:
        rows = conn.execute(text("SELECT fill_key FROM fills WHERE variant = :v AND client_order_id IS NOT NULL"),
                            {"v": variant}).scalars()
        return set(rows)


def _alternate(a: Runtime, b: Runtime, seen: dict[str, set[str]], steps: int) -> None:
    for _ in range(steps):
        for rt in (a, b):
            drive(rt, 1)
            _watch(rt, seen)


def test_two_deployments_on_one_sim_account_each_book_only_their_own_fills(tmp_path: Path) -> None:
    venues = _shared_sim(tmp_path / "account.db")
    ha = make_home(tmp_path / "a", venues_yaml=venues, variants={"MR_v13": mr_yaml(**BUSY)})
    hb = make_home(tmp_path / "b", venues_yaml=venues, variants={"MR_v13": mr_yaml(**BUSY)})
    a, b = ha.runtime(), hb.runtime()
    a.start()
    b.start()
    seen_a: dict[str, set[str]] = {}
    seen_b: dict[str, set[str]] = {}
    for _ in range(60):
        drive(a, 1)
        _watch(a, seen_a)
        drive(b, 1)
        _watch(b, seen_b)
    fa, fb = _fill_keys(a.ledger, "MR_v13"), _fill_keys(b.ledger, "MR_v13")
    assert fa and fb, "both deployments traded"
    assert not fa & fb, "a fill of one deployment was booked by the other (client ids are salted per ledger)"
    assert seen_a.get("MR_v13", set()) >= fa and seen_b.get("MR_v13", set()) >= fb
    # the account holds what the two ledgers hold together
    total = sum(p.qty for led in (a.ledger, b.ledger) for p in led.positions() if p.instrument == "BTC-USD")
    venue = sum(p.qty for p in a.adapters["sim"].positions() if p.instrument == "BTC-USD")
    assert total == venue
    a.stop()
    b.stop()


def _mm(version: int) -> str:
    """A market maker quoting tight at the mid, so its resting quotes fill as the sim moves."""
    return f"""\
name: MMTV
version: {version}
kind: market_making
venue: sim
mode: paper
instruments: [BTC-USD]
params:
  half_spread_bps: 1
  min_size: 0.01
  max_size: 0.02
  volume_window: 1
  max_inventory: 1
  reprice_bps: 1
  min_replace_s: 0
  reference: mid
  price_band_pct: 0.02
  max_ref_drift_pct: 0.005
execution:
  style: maker
risk:
  max_order_notional: 5000
  max_position_notional: 50000
  max_daily_loss: 5000
"""


def test_two_runners_on_one_ledger_and_account_do_not_consume_each_others_fills(tmp_path: Path) -> None:
    """Resting quotes of both runners fill when the market moves; whichever runner reads the
    account's fills first must leave the other's to it (with one cursor per account it booked
    them itself, and the other's engine never heard of its own fills)."""
    h = make_home(tmp_path, variants={"MMTV_v3": _mm(3)})
    url = f"sqlite:///{tmp_path}/shared.db"
    a = h.runtime(Ledger(url))
    a.start()
    drive(a, 2)
    assert list(a.engines) == ["MMTV_v3"]
    h.add_variant("MMTV_v4.yaml", _mm(4))
    b = h.runtime(Ledger(url))
    b.start()  # deploys MMTV_v4 and takes it: MMTV_v3 is a's
    assert list(b.engines) == ["MMTV_v4"]
    seen: dict[str, set[str]] = {}
    _watch(a, seen)
    _watch(b, seen)
    _alternate(a, b, seen, 80)
    assert list(a.engines) == ["MMTV_v3"] and list(b.engines) == ["MMTV_v4"]
    for vid in ("MMTV_v3", "MMTV_v4"):
        booked = _fill_keys(a.ledger, vid)
        assert booked, f"{vid} traded"
        assert seen.get(vid, set()) >= booked, f"{vid}: fills booked without reaching its engine"
    cursors = fill_cursors.variant_cursors(a.ledger, "sim", ["MMTV_v3", "MMTV_v4"])
    assert all(cursors.values())
    a.stop()
    b.stop()
