"""A temporary deployment (home dir, ledger, manual-clock sim) driven step by step in-process."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from venues.sim.adapter import SimAdapter

REPO = Path(__file__).resolve().parents[2]

SIM_MANUAL = """\
sim:
  adapter: sim
  seed: 7
  clock: manual
"""


@dataclass
class Home:
    path: Path

    @property
    def strategies(self) -> Path:
        return self.path / "strategies.d"

    def add_variant(self, name: str, text: str | None = None) -> Path:
        """Copy a shipped sample (or write ``text``) into strategies.d."""
        self.strategies.mkdir(parents=True, exist_ok=True)
        dst = self.strategies / name
        if text is None:
            shutil.copy(REPO / "strategies.d" / name, dst)
        else:
            dst.write_text(text)
        return dst

    def ledger(self) -> Ledger:
        return Ledger(default_url(self.path))

    def runtime(self, ledger: Ledger | None = None) -> Runtime:
        return Runtime(self.path, ledger or self.ledger(), load_venues(self.path), load_runner_config(self.path))


def make_home(tmp: Path, venues_yaml: str = SIM_MANUAL, runner_yaml: str | None = None) -> Home:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "venues.yaml").write_text(venues_yaml)
    if runner_yaml:
        (tmp / "runner.yaml").write_text(runner_yaml)
    (tmp / "strategies.d").mkdir(exist_ok=True)
    return Home(tmp)


def drive(rt: Runtime, steps: int, advance: int = 1) -> None:
    """Run ``steps`` loop iterations, moving every manual-clock sim market ``advance`` steps each."""
    for _ in range(steps):
        for ad in rt.adapters.values():
            if isinstance(ad, SimAdapter) and ad.config.clock == "manual":
                ad.advance(advance)
        rt.step()


def drive_until(rt: Runtime, pred, limit: int = 400) -> None:  # type: ignore[no-untyped-def]
    """Drive one step at a time until ``pred()`` holds; fail the test after ``limit`` steps."""
    for _ in range(limit):
        if pred():
            return
        drive(rt, 1)
    raise AssertionError(f"condition not met within {limit} steps")


def mr_yaml(version: int = 13, **params: object) -> str:
    """The MR sample with a short window so tests trade quickly; params override."""
    base = {"window": 20, "entry_z": 1.0, "exit_z": 0.3, "obi_threshold": 1.0, "long_only": False,
            "stop_loss_pct": 0.02, "max_hold": "10m", "order_notional": 2000}
    base.update(params)
    lines = "\n".join(f"  {k}: {v}" for k, v in base.items())
    return (f"name: MR\nversion: {version}\nkind: mean_reversion\nvenue: sim\nmode: paper\n"
            f"instruments: [BTC-USD]\nparams:\n{lines}\nrisk:\n  max_order_notional: 5000\n"
            f"  max_position_notional: 10000\n  max_daily_loss: 5000\n")
