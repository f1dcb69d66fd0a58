"""A temporary deployment (home dir, ledger, manual-clock sim) driven step by step in-process.

Every test kit writes its deployment directories and variant files with ``make_home`` and
``variant_text`` here (``tests/kit/desk.py`` and its ``tests/kit/deployment.py`` build on them).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
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


def make_home(tmp: Path, venues_yaml: str = SIM_MANUAL, runner_yaml: str | None = None,
              variants: Mapping[str, str] | None = None, runbook: bool = False) -> Home:
    """A deployment directory: venues.yaml, runner.yaml, strategies.d with ``variants`` (id ->
    YAML text), and with ``runbook`` a copy of the shipped runbook."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "venues.yaml").write_text(venues_yaml)
    if runner_yaml:
        (tmp / "runner.yaml").write_text(runner_yaml)
    (tmp / "strategies.d").mkdir(exist_ok=True)
    for vid, text in (variants or {}).items():
        (tmp / "strategies.d" / f"{vid}.yaml").write_text(text)
    if runbook:
        shutil.copytree(REPO / "runbook", tmp / "runbook", dirs_exist_ok=True)
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


def variant_text(vid: str, params: Mapping[str, object], risk: Mapping[str, object], *, venue: str = "sim",
                 instruments: tuple[str, ...] = ("BTC-USD",), style: str | None = None, notes: str | None = None,
                 data: str | None = "{quotes: true}") -> str:
    """A mean_reversion variant file ``<name>_v<version>`` as YAML text. It consumes quotes by
    default (an event per change of the touch), so a test trades within a few market steps;
    ``data=None`` leaves the kind's default (1-minute bars)."""
    name, _, version = vid.rpartition("_v")
    lines = [f"name: {name}", f"version: {version}", "kind: mean_reversion", f"venue: {venue}", "mode: paper",
             f"instruments: [{', '.join(instruments)}]", "params:"]
    lines += [f"  {k}: {json.dumps(v) if isinstance(v, bool) or v is None else v}" for k, v in params.items()]
    lines += ["risk:"] + [f"  {k}: {v}" for k, v in risk.items()]
    if notes is not None:
        lines.append(f"notes: {json.dumps(notes)}")  # quoted: test notes carry hostile text
    if style is not None:
        lines += ["execution:", f"  style: {style}"]
    if data is not None:
        lines.append(f"data: {data}")
    return "\n".join(lines) + "\n"


def mr_yaml(version: int = 13, **params: object) -> str:
    """The MR sample with a short window so tests trade quickly; params override."""
    base = {"window": 20, "entry_z": 1.0, "exit_z": 0.3, "obi_threshold": None, "long_only": False,
            "stop_loss_pct": 0.02, "max_hold": "10m", "order_notional": 2000}
    return variant_text(f"MR_v{version}", {**base, **params},
                        {"max_order_notional": 5000, "max_position_notional": 10000, "max_daily_loss": 5000})
