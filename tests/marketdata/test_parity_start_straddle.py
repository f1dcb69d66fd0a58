"""A start that straddles a bar boundary: the runner reads the sim's candles after a minute closed
while the sim's market (stepped by the runtime) still shows the book from before it. The BTC-USD
bar of that minute then comes from MR_v13's warm-up history (its builder skips it), while the
BTC-PERP bar, with no history, is built from that one book: funding-arb_v1 is handed the perp's
bar but never the spot's. Its replay must see exactly that (not the spot bar MR recorded into the
shared file), and the variant must turn active on the event its strategy turned warm on, as the
backtest does, not after the rest of the pass. Both diverged one CI run in four (wall clock)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.engine.accounts import account_config
from runner.engine.parity import parity
from runner.engine.runtime import Runtime
from runner.ledger.instruments import record_instruments
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.home import make_home
from tests.kit.venue_time import STEP_S
from venues.registry import create_adapter

WALL_SIM = "sim:\n  adapter: sim\n  seed: 7\n  fill_latency: next_step\n"  # clock: wall, speed 60: 12 s a step
BOUNDARY = 1_800_000_000.0  # a minute boundary
STEPS = 40


def test_a_variant_handed_only_part_of_a_shared_file_replays_only_that_part(tmp_path: Path) -> None:
    home = make_home(tmp_path, WALL_SIM)
    for name in ("MR_v13.yaml", "funding-arb_v1.yaml"):
        home.add_variant(name)
    t = [BOUNDARY - 10]
    venues = load_venues(home.path)
    rt = Runtime(home.path, Ledger(default_url(home.path)), venues, load_runner_config(home.path), clock=lambda: t[0])
    sim = create_adapter(account_config("sim", venues, home.path))
    sim.clock = lambda: t[0]  # type: ignore[attr-defined]
    sim.connect()  # the market's last step: 10 s before the minute closes
    record_instruments(rt.ledger, "sim", sim.instruments())
    rt.adapters["sim"] = sim
    t[0] = BOUNDARY + 1  # the start comes just after the close, before the next market step is due
    rt.start()
    rt.step()
    for _ in range(STEPS):
        t[0] += STEP_S
        rt.step()
    rt.stop()
    rt.ledger.close()
    (sess,) = (home.path / "state" / "recordings").iterdir()
    doc = parity(sess, venues)
    got = {v["id"]: v for v in doc["variants"]}
    meta_from = json.loads((sess / "session.json").read_text())["variants"]["funding-arb_v1"]["live_from"]
    assert meta_from["BTC-PERP"] < meta_from["BTC-USD"]  # the straddle: the spot's first live bar is a minute later
    for vid, v in got.items():
        assert v["events"] >= 6, vid  # a bar a minute (funding-arb: two, one per leg)
        assert v["identical"] == v["events"], f"{vid}: {v['identical']} of {v['events']}: {v['divergences'][:2]}"
