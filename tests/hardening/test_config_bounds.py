"""Every number in runner.yaml and in a variant file is finite and bounded, refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec.deployment_config import load_runner_config
from runner.spec.load import parse_variant
from tests.kit.deployment import variant_yaml


@pytest.mark.parametrize("text", [
    "loop_interval_s: .inf\n", "loop_interval_s: 1e999\n", "loop_interval_s: 3600\n",
    "lease_ttl_s: .inf\n", "lease_ttl_s: 1000000\n", "lease_ttl_s: .nan\n",
    "backoff:\n  cap_s: .inf\n", "equity_interval_s: -1\n", "anomaly_tolerance: '.nan'\n",
])
def test_runner_yaml_refuses_an_unbounded_number_with_its_line(tmp_path: Path, text: str) -> None:
    (tmp_path / "runner.yaml").write_text("# knobs\n" + text)
    with pytest.raises(SpecError) as err:
        load_runner_config(tmp_path)
    assert f"{tmp_path / 'runner.yaml'}:2" in str(err.value) or f"{tmp_path / 'runner.yaml'}:3" in str(err.value)


@pytest.mark.parametrize(("old", "new"), [
    ("order_notional: 1000", "order_notional: .inf"),
    ("order_notional: 1000", "order_notional: '-inf'"),
    ("max_order_notional: 100000", "max_order_notional: 'NaN'"),
    ("max_order_notional: 100000", "max_order_notional: 1e999"),
    ("max_order_notional: 100000", "max_order_notional: '1e400'"),
])
def test_a_variant_refuses_a_non_finite_or_absurd_number_with_its_line(old: str, new: str) -> None:
    text = variant_yaml("MR_v1")
    assert old in text
    line = next(i for i, t in enumerate(text.splitlines(), 1) if old in t)
    with pytest.raises(SpecError) as err:
        parse_variant(text.replace(old, new, 1), Path("MR_v1.yaml"))
    assert f"MR_v1.yaml:{line}" in str(err.value)
