"""The test desk places orders through the engine's own refusals, as a strategy's intent would go.

An incident built with ``Desk.place``/``Desk.trade`` must be one the runner could produce: an
entry a paused variant, a guard or a closed session would refuse is refused (a skip, no order),
while an exit still goes out (a variant keeps managing its position).
"""

from __future__ import annotations

from pathlib import Path

from tests.kit.desk import Desk, variant_yaml


def test_an_entry_the_engine_refuses_is_refused_and_an_exit_still_goes_out(tmp_path: Path) -> None:
    desk = Desk(tmp_path, {"MR_v13": variant_yaml("MR_v13")}).start()
    try:
        assert desk.place("MR_v13", "buy", 0.01) is not None  # active: the entry is sent
        desk.step()
        eng = desk.engine("MR_v13")
        orders = desk.venue_orders()
        eng.guard_reason = "daily_loss"  # what the desk's guards set on every engine
        assert desk.place("MR_v13", "buy", 0.01) is None
        assert eng.skips.get("guard_daily_loss") == 1 and desk.venue_orders() == orders
        assert desk.place("MR_v13", "sell", 0.01, purpose="exit") is not None  # exits pass the guards
        assert desk.venue_orders() == orders + 1
        eng.guard_reason = None
        desk.pause("MR_v13")
        desk.step()
        orders = desk.venue_orders()
        assert desk.place("MR_v13", "buy", 0.01) is None
        assert eng.skips.get("state_paused") == 1 and desk.venue_orders() == orders
    finally:
        desk.close()
