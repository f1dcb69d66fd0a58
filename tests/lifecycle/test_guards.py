"""Global guards: kill switch (operator release), blackout windows (automatic), exposure groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.engine.guards import guard_rows, release
from runner.lifecycle import State
from tests.kit.home import drive, drive_until, make_home, mr_yaml
from venues.base import OrderRequest, OrderType, Side, TimeInForce


def _guard(rt, name: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {r["name"]: r for r in guard_rows(rt.ledger)}[name]


def _clocked(rt, start: float, step: float = 1.0) -> list[float]:  # type: ignore[no-untyped-def]
    """Give the runtime a clock that moves ``step`` seconds per call (guards run once a second)."""
    t = [start]

    def clock() -> float:
        t[0] += step
        return t[0]

    rt.clock = clock
    return t


def test_daily_drawdown_kill_switch_stops_entries_everywhere_until_the_operator_releases(tmp_path) -> None:
    home = make_home(tmp_path, runner_yaml="guards:\n  daily_drawdown: {max_loss: 0.5}\n")
    home.add_variant("MR_v13.yaml", mr_yaml())
    rt = home.runtime()
    _clocked(rt, datetime.now(UTC).timestamp())
    rt.start()
    drive_until(rt, lambda: bool(rt.ledger.fills()), limit=600)  # the first fill pays a fee > 0.5: the day is red
    drive_until(rt, lambda: _guard(rt, "daily_drawdown")["active"], limit=600)
    eng = rt.engines["MR_v13"]
    entries = len([o for o in rt.ledger.orders() if o.purpose == "entry"])
    drive(rt, 300)
    assert len([o for o in rt.ledger.orders() if o.purpose == "entry"]) == entries
    assert eng.skips.get("guard_daily_drawdown", 0) + rt.ledger.skips().get("guard_daily_drawdown", 0) > 0
    assert all(p.qty == 0 for p in rt.ledger.positions())  # exits were not stopped
    assert eng.state is State.ACTIVE  # a guard is not a lifecycle state of the variant
    assert release(rt.ledger, "daily_drawdown") == "guard daily_drawdown released"
    drive(rt, 5)
    assert not _guard(rt, "daily_drawdown")["active"]  # and it does not trip again on the same loss


def test_blackout_window_halts_entries_cancels_resting_entries_and_lifts_by_itself(tmp_path) -> None:
    event = datetime.now(UTC) + timedelta(minutes=5)
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "calendar.yaml").write_text(f"- name: CPI\n  at: {event.isoformat()}\n")
    home = make_home(tmp_path, runner_yaml="guards:\n  blackouts: {calendar: calendar.yaml, before_min: 10, after_min: 10}\n")
    home.add_variant("MR_v13.yaml", mr_yaml())
    rt = home.runtime()
    t = _clocked(rt, event.timestamp() - 30 * 60)
    rt.start()
    drive(rt, 21)
    eng = rt.engines["MR_v13"]
    # a resting entry order (GTC, below the market) that the blackout must take off the book
    mid = rt.adapters["sim"].book("BTC-USD").mid
    eng.send(OrderRequest(eng_cid := "f" * 32, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                          Decimal(str(round(mid * 0.97, 2))), TimeInForce.GTC), "entry")
    assert eng_cid in eng.working
    t[0] = event.timestamp() - 5 * 60
    drive(rt, 2)
    assert _guard(rt, "blackout")["active"] and "CPI" in _guard(rt, "blackout")["reason"]
    assert eng_cid not in eng.working
    assert rt.ledger.order_status(eng_cid) == "cancelled"
    n = len(rt.ledger.orders())
    drive(rt, 100)
    assert len([o for o in rt.ledger.orders()[n:] if o.purpose == "entry"]) == 0
    t[0] = event.timestamp() + 11 * 60
    drive(rt, 2)
    assert not _guard(rt, "blackout")["active"]


def test_exposure_group_caps_concurrent_positions_across_variants(tmp_path) -> None:
    home = make_home(tmp_path, runner_yaml=(
        "guards:\n  exposure_groups:\n    btc: {instruments: [BTC-USD], max_positions: 1}\n"))
    home.add_variant("MR_v13.yaml", mr_yaml())
    home.add_variant("MR_v14.yaml", mr_yaml(version=14, entry_z=1.1))
    rt = home.runtime()
    _clocked(rt, datetime.now(UTC).timestamp())
    rt.start()
    both = 0
    for _ in range(800):
        drive(rt, 1)
        holding = [v for v in ("MR_v13", "MR_v14") if rt.engines[v].views.get("BTC-USD")]
        both = max(both, len(holding))
    assert both == 1
    skips = {**rt.ledger.skips()}
    for eng in rt.engines.values():
        for k, v in eng.skips.items():
            skips[k] = skips.get(k, 0) + v
    assert skips.get("guard_exposure:btc", 0) > 0
