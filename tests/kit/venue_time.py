"""A runtime whose sim runs in venue time under the test's control (12 s a market step)."""

from __future__ import annotations

from pathlib import Path

from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from venues.sim.adapter import SimAdapter

STEP_S = 12.0  # venue seconds per market step: five steps to a 1-minute bar


def runtime(home: Path, t: list[float]) -> Runtime:
    rt = Runtime(home, Ledger(default_url(home)), load_venues(home), load_runner_config(home), clock=lambda: t[0])
    rt.start()
    sim = rt.adapters["sim"]
    assert isinstance(sim, SimAdapter)
    sim.clock = lambda: t[0]  # venue time under the test's control
    return rt


def run(rt: Runtime, t: list[float], steps: int) -> set[int]:
    minutes = set()
    for _ in range(steps):
        t[0] += STEP_S
        rt.adapters["sim"].advance(1)  # type: ignore[attr-defined]
        rt.step()
        minutes.add(int(t[0] // 60))
    return minutes


