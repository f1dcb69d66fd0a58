"""A funding pair whose spot leg is not among the instruments never warms (the runner reads
only the listed instruments): it is refused when the file is loaded, at the instruments line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec.load import parse_variant


def _arb(instruments: str, params: str) -> str:
    return ("name: FA\nversion: 1\nkind: funding_arb\nvenue: sim\nmode: paper\n"
            f"instruments: {instruments}\nparams:\n{params}"
            "risk:\n  max_order_notional: 5000\n  max_position_notional: 10000\n  max_daily_loss: 1000\n")


@pytest.mark.parametrize(("instruments", "params", "says"), [
    ("[BTC-PERP]", "  spot: BTC-USD\n  perp: BTC-PERP\n", "spot 'BTC-USD' of the pair must be listed"),
    ("[BTC-USD]", "  spot: BTC-USD\n  perp: BTC-PERP\n", "perp 'BTC-PERP' of the pair must be listed"),
    ("[BTC-PERP]", "  open_apr: 0.2\n", "needs a spot and a perp"),
    ("[BTC-PERP, ETH-PERP]", "  spot: BTC-PERP\n  perp: BTC-PERP\n", "the same instrument"),
])
def test_a_funding_pair_that_cannot_warm_is_refused_at_load(instruments: str, params: str, says: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_variant(_arb(instruments, params), Path("strategies.d/FA_v1.yaml"))
    [issue] = err.value.issues
    assert (issue.line, issue.key) == (6, "instruments") and says in issue.message


def test_a_complete_pair_loads() -> None:
    loaded = parse_variant(_arb("[BTC-USD, BTC-PERP]", "  spot: BTC-USD\n"), Path("strategies.d/FA_v1.yaml"))
    assert loaded.spec.instruments == ["BTC-USD", "BTC-PERP"]
