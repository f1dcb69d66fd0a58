"""`data:` in a variant: each kind declares the streams it can use and its default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec.load import load_variant

BASE = """\
name: {name}
version: 1
kind: {kind}
venue: sim
mode: paper
instruments: [ETH-USD]
params: {{}}
risk: {{max_order_notional: 100, max_position_notional: 100, max_daily_loss: 100}}
"""


def _file(tmp_path: Path, kind: str, data: str = "", name: str = "X") -> Path:
    p = tmp_path / f"{name}_v1.yaml"
    p.write_text(BASE.format(name=name, kind=kind) + data)
    return p


def _issues(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_variant(path)
    return [str(i) for i in info.value.issues]


def test_a_declared_bar_timeframe_is_what_the_variant_consumes(tmp_path: Path) -> None:
    lv = load_variant(_file(tmp_path, "mean_reversion", "data:\n  bars: 5m\n  book_depth: 10\n  warmup: live\n"))
    s = lv.stream
    assert (s.kind, s.timeframe_s, s.book_depth, s.warmup, s.defaulted) == ("bars", 300, 10, "live", ())


def test_without_data_the_kinds_default_applies_and_says_so(tmp_path: Path) -> None:
    mr = load_variant(_file(tmp_path, "mean_reversion")).stream
    assert (mr.kind, mr.timeframe_s) == ("bars", 60)
    assert "bars 1m" in mr.defaulted and "warmup venue" in mr.defaulted
    mm = load_variant(_file(tmp_path, "market_making", name="Y")).stream
    assert (mm.kind, mm.timeframe_s) == ("books", None)


def test_a_stream_the_kind_cannot_use_is_refused_with_its_line(tmp_path: Path) -> None:
    issues = _issues(_file(tmp_path, "market_making", "data:\n  bars: 1m\n"))
    assert issues == [f"{tmp_path}/X_v1.yaml:10: data.bars: kind market_making cannot use the bars stream; "
                      "it can use: quotes, books (default: books)"]


@pytest.mark.parametrize("tf", ["0s", "2d", "90x", "m1"])
def test_a_timeframe_outside_1s_to_1d_is_refused(tmp_path: Path, tf: str) -> None:
    (issue,) = _issues(_file(tmp_path, "mean_reversion", f"data:\n  bars: {tf}\n"))
    assert "data.bars" in issue and "timeframe" in issue


def test_two_streams_at_once_are_refused(tmp_path: Path) -> None:
    (issue,) = _issues(_file(tmp_path, "mean_reversion", "data:\n  bars: 1m\n  books: true\n"))
    assert "choose one stream" in issue


def test_validate_prints_the_defaults_it_applied(tmp_path: Path) -> None:
    path = _file(tmp_path, "imbalance_scalper")
    out = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "validate", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "data: books, book_depth 5, warmup venue (kind defaults: books, book_depth 5, warmup venue)" in out.stdout
