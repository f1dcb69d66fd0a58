"""Parity of a real wall-clock session: `runner run` in a fresh directory (the embedded
venues.yaml: the sim at speed 60 with fill_latency next_step, its market stepped by the runtime)
of every shipped sample and an imbalance scalper, then `runner parity`: every decision of the
backtest of the recording is the session's. No timing is asserted: a loaded machine runs fewer
steps, never different ones. A changed parameter still shows as divergence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kit.home import REPO
from tests.kit.parity_samples import IMBALANCE, SAMPLES
from tests.kit.process import cli as runner

SESSION_S = 20  # wall seconds: about 100 market steps of 12 venue seconds, 20 one-minute bars


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("wall")
    (home / "strategies.d").mkdir()
    for name in SAMPLES:
        (home / "strategies.d" / name).write_text((REPO / "strategies.d" / name).read_text())
    (home / "strategies.d" / "IS_v1.yaml").write_text(IMBALANCE)
    res = runner(home, "run", "--duration", str(SESSION_S), "--quiet", timeout=SESSION_S + 120)
    assert res.returncode == 0, res.stdout + res.stderr
    (sess,) = (home / "state" / "recordings").iterdir()
    return home, sess.name


def test_a_wall_clock_session_of_every_sample_is_identical_in_its_backtest(session: tuple[Path, str]) -> None:
    home, sess = session
    res = runner(home, "parity", sess, "--json", timeout=120)
    doc = json.loads(res.stdout)
    got = {v["id"]: v for v in doc["variants"]}
    assert set(got) == {"MR_v13", "MMTV_v3", "funding-arb_v1", "Kalshi-sum_v1", "imbalance-scalper_v1", "IS_v1"}
    for vid, v in got.items():
        assert v["events"] >= 4, vid  # each decided on its stream (bars: one a minute of venue time)
        assert v["identical"] == v["events"], f"{vid}: {v['identical']} of {v['events']}: {v['divergences'][:2]}"
        assert v["fills_by_nature"] is None  # the sim held its takers: nothing is by nature
    assert res.returncode == 0, res.stderr


def test_a_changed_parameter_still_shows_as_divergence(session: tuple[Path, str], tmp_path: Path) -> None:
    home, sess = session
    changed = tmp_path / "IS_v1.yaml"
    changed.write_text(IMBALANCE.replace("threshold: 0.5,", "threshold: 0.2,"))
    res = runner(home, "parity", sess, "--file", str(changed), "--json", timeout=120)
    assert res.returncode == 1, res.stderr
    (v,) = json.loads(res.stdout)["variants"]
    assert v["identical"] < v["events"]
    assert v["divergences"][0]["cause"] == "decision"
