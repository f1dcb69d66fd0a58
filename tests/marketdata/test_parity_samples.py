"""Parity on the sim with its latency model: every shipped sample, and an imbalance scalper,
decides in the backtest of its recording exactly as it did in the session; a changed parameter
shows as divergence. And every event a variant consumed has an order or a recorded reason."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.engine.parity import parity
from runner.engine.variant import VariantEngine
from runner.spec.deployment_config import load_venues
from tests.kit.home import SIM_MANUAL, make_home
from tests.kit.parity_samples import IMBALANCE, SAMPLES
from tests.kit.process import cli as runner
from tests.kit.venue_time import run, runtime

STEPS = 100  # 20 minutes of venue time at 12 s a step


def _watch(eng: VariantEngine, gaps: list[str]) -> None:
    """After each decision, the event must end with an order sent or a skip counted."""
    state = {"marks": None}
    recorded: Callable[..., Any] | None = eng.on_decision
    sent = eng.on_sent
    orders, drained = [0], [0]
    take = eng.take_skips  # the runtime drains the tally into the ledger every few seconds: count it

    def take_skips() -> dict[str, int]:
        out = take()
        drained[0] += sum(out.values())
        return out

    def count() -> int:
        return sum(eng.skips.values()) + drained[0] + orders[0]

    def on_sent(e: VariantEngine, req: Any, purpose: str) -> None:
        orders[0] += 1
        if sent is not None:
            sent(e, req, purpose)

    def on_decision(ev: Any, d: Any, views: Any) -> None:
        close(ev.ts)
        state["marks"] = (ev.ts, d, count())
        if recorded is not None:
            recorded(ev, d, views)

    def close(_now: float) -> None:
        if state["marks"] is not None:
            ts, d, before = state["marks"]
            if count() == before:
                gaps.append(f"{eng.id} at {ts}: decided {d!r}, no order and no reason")
        state["marks"] = None

    eng.on_sent = on_sent
    eng.take_skips = take_skips  # type: ignore[method-assign]
    eng.on_decision = on_decision
    eng.close_watch = close  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    home = make_home(tmp_path_factory.mktemp("home"), SIM_MANUAL + "  fill_latency: next_step\n")
    for name in SAMPLES:
        home.add_variant(name)
    home.add_variant("IS_v1.yaml", IMBALANCE)
    t = [time.time()]
    rt = runtime(home.path, t)
    gaps: list[str] = []
    for eng in rt.engines.values():
        _watch(eng, gaps)
    for _ in range(STEPS):
        run(rt, t, 1)
        for eng in rt.engines.values():
            eng.close_watch(t[0])  # type: ignore[attr-defined]
    rt.stop()
    rt.ledger.close()
    (sess,) = (home.path / "state" / "recordings").iterdir()
    return home.path, sess, gaps


def test_every_sample_decides_in_the_backtest_exactly_as_in_the_session(session: tuple[Path, Path, list[str]]) -> None:
    home, sess, _gaps = session
    doc = parity(sess, load_venues(home))
    got = {v["id"]: (v["identical"], v["events"], v["divergences"][:2]) for v in doc["variants"]}
    assert set(got) == {"MR_v13", "MMTV_v3", "funding-arb_v1", "Kalshi-sum_v1", "imbalance-scalper_v1", "IS_v1"}
    assert all(v["fills_by_nature"] is None for v in doc["variants"])  # the sim held takers: by construction
    for vid, (same, events, first) in got.items():
        assert events >= 15, vid  # each decided on every event of its stream: bars, books, binary books
        assert same == events, f"{vid}: {same} of {events}; first divergences {first}"
    res = runner(home, "parity", sess.name, "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert all(v["share"] == 1.0 for v in json.loads(res.stdout)["variants"])


def test_a_changed_parameter_shows_as_divergence(session: tuple[Path, Path, list[str]], tmp_path: Path) -> None:
    home, sess, _gaps = session
    changed = tmp_path / "IS_v1.yaml"
    changed.write_text(IMBALANCE.replace("threshold: 0.5,", "threshold: 0.2,"))
    res = runner(home, "parity", sess.name, "--file", str(changed), "--json")
    assert res.returncode == 1, res.stderr
    (v,) = json.loads(res.stdout)["variants"]
    assert v["id"] == "IS_v1" and v["identical"] < v["events"]
    assert v["divergences"][0]["cause"] == "decision"


def test_every_event_has_an_order_or_a_reason_in_every_kind(session: tuple[Path, Path, list[str]]) -> None:
    _home, sess, gaps = session
    assert gaps == []
    decided = {p.name.split(".")[0] for p in (sess / "decisions").iterdir()}
    assert len(decided) == 6  # every kind was watched over the session
