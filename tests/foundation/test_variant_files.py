"""Variant YAML: strict validation, errors that name the file, the line and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec.load import load_variant

GOOD = """\
name: MR
version: 13
kind: mean_reversion
venue: sim
mode: paper
instruments: [BTC-USD]
params:
  window: 60
  entry_z: 1.25
risk:
  max_order_notional: 5000
  max_position_notional: 10000
  max_daily_loss: 1000
"""


def _write(tmp_path: Path, text: str, name: str = "MR_v13.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _issues(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_variant(path)
    return [str(i) for i in info.value.issues]


def test_a_good_file_loads_with_its_kind_params_and_content_hash(tmp_path) -> None:
    v = load_variant(_write(tmp_path, GOOD))
    assert v.id == "MR_v13" and v.params.window == 60  # type: ignore[attr-defined]
    assert len(v.content_hash) == 64


def test_unknown_key_is_an_error_with_its_line(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("mode: paper\n", "mode: paper\nspeed: fast\n"))
    assert _issues(p) == [f"{p}:6: speed: unknown key (not allowed here)"]


def test_a_bad_param_names_the_nested_key_and_line(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("window: 60", "window: one"))
    (issue,) = _issues(p)
    assert issue.startswith(f"{p}:8: params.window: ")
    assert "integer" in issue


def test_unknown_param_of_the_kind_is_an_error(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("  entry_z: 1.25\n", "  entry_z: 1.25\n  entry_zz: 3\n"))
    assert _issues(p) == [f"{p}:10: params.entry_zz: unknown key (not allowed here)"]


def test_missing_required_key_points_at_its_parent(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("  max_daily_loss: 1000\n", ""))
    assert _issues(p) == [f"{p}:10: risk.max_daily_loss: required key is missing"]


def test_broken_yaml_reports_the_line(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("instruments: [BTC-USD]", "instruments: [BTC-USD"))
    (issue,) = _issues(p)
    assert issue.startswith(f"{p}:") and "invalid YAML" in issue


def test_file_stem_must_be_name_and_version(tmp_path) -> None:
    p = _write(tmp_path, GOOD, name="MR_v12.yaml")
    (issue,) = _issues(p)
    assert "MR_v13.yaml" in issue and ":1: name:" in issue


def test_unknown_kind_lists_the_registered_ones(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("kind: mean_reversion", "kind: magic"))
    (issue,) = _issues(p)
    assert ":3: kind: unknown kind 'magic'" in issue and "mean_reversion" in issue


def test_duplicate_keys_are_refused(tmp_path) -> None:
    p = _write(tmp_path, GOOD.replace("version: 13\n", "version: 13\nversion: 14\n"))
    (issue,) = _issues(p)
    assert ":3: version: duplicate key" in issue


def test_validate_command_exits_0_for_good_and_2_for_bad(tmp_path) -> None:
    good = _write(tmp_path, GOOD)
    bad = _write(tmp_path, GOOD.replace("venue: sim", "venue: nowhere"), "MR_v14.yaml")
    ok = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "validate", str(good)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    res = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "validate", str(good), str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert f"{bad}:4: venue: unknown account 'nowhere'" in res.stderr
