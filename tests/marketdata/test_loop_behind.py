"""A loop that falls behind the sim's clock makes up every market step it owes, one at a time:
each step's book reaches the strategies and the recording, and a taking order meets the next
step's book, exactly as when the loop keeps up. Two sessions from the same start, one stepping
every 12 venue seconds and one three steps at a time, record the same bars (OHLC, book at the
close, fill touch), the same books and quotes, and the same decisions."""

from __future__ import annotations

import gzip
from pathlib import Path

from runner.engine.accounts import account_config
from runner.engine.runtime import Runtime
from runner.ledger.instruments import record_instruments
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.home import make_home
from tests.kit.parity_samples import IMBALANCE, SAMPLES
from tests.kit.venue_time import STEP_S
from venues.registry import create_adapter

WALL_SIM = "sim:\n  adapter: sim\n  seed: 7\n  fill_latency: next_step\n"  # clock: wall, speed 60: 12 s a step
T0 = 1_800_000_000.0  # the same venue time for both sessions (bars on the same grid)
STEPS = 45


def _session(tmp: Path, every: int) -> dict[str, bytes]:
    home = make_home(tmp, WALL_SIM)
    for name in SAMPLES:
        home.add_variant(name)
    home.add_variant("IS_v1.yaml", IMBALANCE)
    t = [T0]
    venues = load_venues(home.path)
    rt = Runtime(home.path, Ledger(default_url(home.path)), venues, load_runner_config(home.path), clock=lambda: t[0])
    sim = create_adapter(account_config("sim", venues, home.path))
    sim.clock = lambda: t[0]  # type: ignore[attr-defined]  # venue time under the test's control from the start
    sim.connect()
    record_instruments(rt.ledger, "sim", sim.instruments())
    rt.adapters["sim"] = sim
    rt.start()
    for _ in range(STEPS // every):
        t[0] += STEP_S * every  # the loop comes back `every` steps later
        rt.step()
    rt.stop()
    rt.ledger.close()
    (sess,) = (home.path / "state" / "recordings").iterdir()
    return {p.relative_to(sess).as_posix(): gzip.decompress(p.read_bytes())
            for p in sorted(sess.rglob("*.gz"))}


def test_a_loop_three_steps_behind_sees_and_records_what_a_loop_on_time_does(tmp_path: Path) -> None:
    on_time = _session(tmp_path / "on_time", 1)
    behind = _session(tmp_path / "behind", 3)
    assert sorted(on_time) == sorted(behind)
    assert len([n for n in on_time if n.startswith("decisions/")]) == 6
    for name, data in on_time.items():
        assert data.count(b"\n") >= 8, name  # every stream and decision log holds the session
        assert behind[name] == data, name
