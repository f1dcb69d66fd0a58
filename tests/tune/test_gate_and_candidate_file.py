"""The promotion gate as a pure function (each inequality refusing alone), and the candidate file
written line by line (comments kept) or, when its layout defeats that, rewritten from its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.spec.load import parse_variant
from runner.spec.tune_config import PromotionGateSpec
from runner.tune.candidate_file import candidate_text, next_version, write_candidate
from runner.tune.gate import judge
from runner.tune.periods import Period, combine, walk_forward
from tests.kit.home import REPO

CURRENT = {"sharpe": 1.00, "trades": 80, "max_drawdown": 0.05, "total_return": 0.10}
GOOD = {"sharpe": 1.20, "trades": 60, "max_drawdown": 0.05, "total_return": 0.09}
DESK = PromotionGateSpec()


def test_a_candidate_holding_all_four_inequalities_passes() -> None:
    v = judge(GOOD, CURRENT, DESK)
    assert v.passes and v.failures == ()


@pytest.mark.parametrize(("change", "inequality"), [
    ({"sharpe": 1.10}, "sharpe"),  # not strictly above current + 0.10
    ({"sharpe": None}, "sharpe"),  # under 30 days: cannot show an improvement
    ({"trades": 59}, "trades"),
    ({"max_drawdown": 0.0501}, "drawdown"),
    ({"total_return": 0.0899}, "return"),
])
def test_the_gate_refuses_a_candidate_that_fails_one_inequality(change: dict, inequality: str) -> None:  # type: ignore[type-arg]
    v = judge({**GOOD, **change}, CURRENT, DESK)
    assert not v.passes and v.failed == [inequality]
    assert v.failures[0][1]  # says what does not hold, with the numbers


def test_the_gate_names_every_inequality_that_fails_and_cannot_pass_against_an_unknown_sharpe() -> None:
    v = judge({"sharpe": 0.5, "trades": 3, "max_drawdown": 0.2, "total_return": -0.1}, CURRENT, DESK)
    assert v.failed == ["sharpe", "trades", "drawdown", "return"]
    assert judge(GOOD, {**CURRENT, "sharpe": None}, DESK).failed == ["sharpe"]


def test_the_return_floor_on_a_losing_current_is_not_stricter_than_the_current() -> None:
    losing = {**CURRENT, "total_return": -0.10}
    assert judge({**GOOD, "total_return": -0.105}, losing, DESK).passes  # floor -11%, not -9%
    assert judge({**GOOD, "total_return": -0.12}, losing, DESK).failed == ["return"]


def test_a_configured_gate_moves_each_bar() -> None:
    gate = PromotionGateSpec(sharpe_margin=0.5, min_trades=10, drawdown_ratio=1.5, return_ratio=0.5)
    assert judge({**GOOD, "sharpe": 1.4}, CURRENT, gate).failed == ["sharpe"]
    assert judge({**GOOD, "sharpe": 1.6, "trades": 10, "max_drawdown": 0.075, "total_return": 0.05},
                 CURRENT, gate).passes


def test_walk_forward_folds_follow_each_other_and_combine_sums_and_compounds() -> None:
    folds = walk_forward(0.0, 300.0, 2)
    assert [(i.start, i.end, o.start, o.end) for i, o in folds] == [(None, 100.0, 100.0, 200.0),
                                                                    (100.0, 200.0, 200.0, None)]
    a = {"sharpe": 1.0, "trades": 10, "max_drawdown": 0.1, "total_return": 0.1, "win_rate": 0.5, "fees": 1.0,
         "exposure": 0.5, "days": 10}
    b = {"sharpe": 2.0, "trades": 30, "max_drawdown": 0.2, "total_return": -0.1, "win_rate": 0.7, "fees": 2.0,
         "exposure": 0.1, "days": 30}
    c = combine([a, b])
    assert c["trades"] == 40 and c["fees"] == 3.0 and c["max_drawdown"] == 0.2 and c["sharpe"] == 1.5
    assert c["total_return"] == pytest.approx(1.1 * 0.9 - 1) and c["win_rate"] == pytest.approx(0.65)
    assert combine([a, {**b, "sharpe": None}])["sharpe"] is None


def test_an_out_of_sample_period_is_seeded_from_the_events_just_before_it() -> None:
    from runner.kinds.base import MarketEvent

    evs = [MarketEvent(float(t), "X", 1.0, 1.0) for t in range(10)]
    got = [e.ts for e in Period("out_of_sample", 1, 5.0, 8.0).clip(2)(iter(evs))]
    assert got == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert Period("out_of_sample", 1, 5.0, 8.0).seed_until < 5.0  # 3 and 4 only fill windows
    assert [e.ts for e in Period("in_sample", 1, None, 3.0).clip(2)(iter(evs))] == [0.0, 1.0, 2.0]


FLOW = """\
name: MR
version: 13   # bump on every change
kind: mean_reversion
venue: sim
mode: paper
instruments: [BTC-USD]
params: {window: 60, entry_z: 1.25, exit_z: 0.5}
risk: {max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 1000}
"""


def test_a_file_whose_params_are_flow_style_is_rewritten_from_its_data_and_still_validates(tmp_path: Path) -> None:
    lv = parse_variant(FLOW, tmp_path / "MR_v13.yaml")
    text = candidate_text(lv, tmp_path / "MR_v14.yaml", 14, {"window": 30}, "from a test")
    assert text.startswith("# from a test\n# rewritten from its data")
    got = parse_variant(text, tmp_path / "MR_v14.yaml")
    assert got.spec.version == 14 and got.params.window == 30 and got.params.entry_z == 1.25
    assert got.spec.risk == lv.spec.risk


def test_a_param_the_file_left_to_its_default_is_added_under_params(tmp_path: Path) -> None:
    (tmp_path / "strategies.d").mkdir()
    src = (REPO / "strategies.d" / "MR_v13.yaml").read_text()
    (tmp_path / "strategies.d" / "MR_v13.yaml").write_text(src)
    (tmp_path / "candidates").mkdir()
    (tmp_path / "candidates" / "MR_v16.yaml").write_text("stale")
    assert next_version(tmp_path, "MR", 13) == 17
    assert next_version(tmp_path, "MR", 13, [20]) == 21  # a version the ledger has deployed stays taken
    lv = parse_variant(src, tmp_path / "strategies.d" / "MR_v13.yaml")
    path = write_candidate(tmp_path, lv, {"urgent_z": 4.0, "max_hold": "20m"}, {"sweep": {}})
    assert path.name == "MR_v17.yaml"
    text = path.read_text()
    assert "  max_hold: 20m\n" in text and "  order_notional: 2000\n  urgent_z: 4.0\n" in text
    got = parse_variant(text, path)
    assert got.params.urgent_z == 4.0 and got.params.max_hold == 1200.0 and got.spec.version == 17
    assert "  obi_threshold: 0.0       # as the source" in text and "rewritten from its data" not in text


def test_random_cells_are_drawn_from_the_grid_reproducibly_and_params_prefix_is_accepted() -> None:
    from runner.errors import BadInputError
    from runner.kinds.mean_reversion import MeanReversionParams
    from runner.tune.grid import build, parse_axis

    base = {"window": 60, "entry_z": 1.25, "exit_z": 0.5}
    axes = [(*parse_axis("entry_z=1.0,1.25,1.5,2", "a"), "a"), (*parse_axis("params.window=20,30,60", "b"), "b")]
    one = build(axes, MeanReversionParams, base, "mean_reversion", random_n=5, seed=7)
    two = build(axes, MeanReversionParams, base, "mean_reversion", random_n=5, seed=7)
    assert one.cells == two.cells and len(one.cells) == 5 and one.total == 12
    assert all(set(c) == {"entry_z", "window"} for c in one.cells)
    assert build(axes, MeanReversionParams, base, "mean_reversion", random_n=5, seed=8).cells != one.cells
    with pytest.raises(BadInputError, match="already swept"):
        build([*axes, ("window", [10], "c")], MeanReversionParams, base, "mean_reversion")
