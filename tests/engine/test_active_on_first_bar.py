"""A bars variant pre-seeded from the venue's candles is active when it starts, before its first
live bar: a bar closing in the same pass as the start was decided on while still `warming`, its
entry refused, where the backtest of the recording entered (a wall-clock parity divergence)."""

from __future__ import annotations

from pathlib import Path

from runner.lifecycle import State
from tests.kit.deployment import variant_yaml
from tests.kit.home import make_home


def test_a_bars_variant_warm_from_history_is_active_at_its_start(tmp_path: Path) -> None:
    home = make_home(tmp_path / "desk", variants={"MR_v1": variant_yaml("MR_v1")})  # bars 1m, window 2
    rt = home.runtime()
    try:
        rt.start()  # no step yet: no housekeeping has run, no live bar has closed
        eng = rt.engines["MR_v1"]
        assert eng.strategy.warm and eng.state is State.ACTIVE
        assert [t.to_state for t in rt.ledger.transitions("MR_v1")] == ["warming", "active"]
    finally:
        rt.stop()
        rt.ledger.close()
