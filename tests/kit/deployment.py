"""A real deployment in a temp dir: strategies.d, a manual-clock sim, the ledger, a Runtime.

Tests drive it with ``step()`` (no wall-clock sleeps) and make variants trade through the
engine's own order path with ``trade()``. Nothing here fakes the ledger, the engine or SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from runner.engine.lifecycle_driver import transition
from runner.engine.runtime import Runtime
from runner.kinds.base import Intent, MarketEvent
from runner.ledger.store import Ledger, default_url
from runner.lifecycle import State, Trigger
from runner.spec.deployment_config import RunnerConfig, load_runner_config, load_venues
from tests.kit.home import make_home as kit_home
from tests.kit.home import variant_text
from venues.sim.adapter import SimAdapter


def variant_yaml(vid: str, instruments: tuple[str, ...] = ("BTC-USD",), venue: str = "sim") -> str:
    return variant_text(vid, {"window": 2, "entry_z": 1.25, "exit_z": 0.5, "long_only": False, "order_notional": 1000},
                        {"max_order_notional": 100000, "max_position_notional": 1000000, "max_daily_loss": 100000},
                        venue=venue, instruments=instruments, data="{bars: 1m}")  # warm from the sim's history


def make_home(root: Path, variants: dict[str, tuple[str, ...]], runner_yaml: str = "") -> Path:
    """A deployment directory with one file per variant (id -> instruments)."""
    home = kit_home(root / "desk", runner_yaml=runner_yaml or None,
                    variants={vid: variant_yaml(vid, insts) for vid, insts in variants.items()}).path
    (home / "runbook").mkdir()
    (home / "state").mkdir()
    return home


@dataclass
class Desk:
    """The harness: one home, one ledger, one runtime with a manual clock."""

    home: Path
    ledger: Ledger
    rt: Runtime
    now: list[float] = field(default_factory=lambda: [1_000_000.0])

    @classmethod
    def create(cls, root: Path, variants: dict[str, tuple[str, ...]] | None = None, runner_yaml: str = "") -> Desk:
        home = make_home(root, variants if variants is not None else {"MR_v1": ("BTC-USD",)}, runner_yaml)
        ledger = Ledger(default_url(home))
        now = [1_000_000.0]
        rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), clock=lambda: now[0])
        desk = cls(home, ledger, rt, now)
        rt.start()
        desk.step(3)  # pending -> warming -> active (window 2)
        return desk

    @property
    def venues(self):  # type: ignore[no-untyped-def]
        return self.rt.venues

    @property
    def config(self) -> RunnerConfig:
        return self.rt.config

    def sim(self, account: str = "sim") -> SimAdapter:
        ad = self.rt.adapter(account)
        assert isinstance(ad, SimAdapter)
        return ad

    def step(self, n: int = 1, dt: float = 1.0) -> None:
        for _ in range(n):
            self.now[0] += dt
            self.rt.step()

    def event(self, instrument: str, account: str = "sim") -> MarketEvent:
        book = self.sim(account).book(instrument)
        return MarketEvent(book.ts, instrument, book.bids[0][0], book.asks[0][0])

    def trade(self, variant: str, side: str, qty: str, instrument: str = "BTC-USD", purpose: str = "entry",
              group: str | None = None) -> None:
        """Have ``variant`` send one taker order through its engine, then read the fills."""
        eng = self.rt.engines[variant]
        eng.place(Intent(instrument, side, purpose, qty=float(qty), urgent=True, group=group), self.event(instrument))
        self.step()

    def position(self, variant: str, instrument: str = "BTC-USD") -> Decimal:
        for p in self.ledger.positions(variant=variant):
            if p.instrument == instrument:
                return p.qty
        return Decimal(0)

    def retire(self, variant: str, steps: int = 3) -> None:
        """Retire through the operator path and let the runtime finish it (dust stays)."""
        from runner import control

        control.retire(self.ledger, variant)
        self.step(steps)

    def force_retired(self, variant: str) -> None:
        """Replay a buggy old runner: mark the variant retired without flattening it."""
        st = State(self.ledger.state(variant).state)  # type: ignore[union-attr]
        transition(self.ledger, variant, st, Trigger.RETIRE, "retire", "old runner", "system")
        transition(self.ledger, variant, State.RETIRING, Trigger.FLAT, "retire", "old runner: flat?", "system")
        self.rt.engines[variant].state = State.RETIRED

    def venue_orders(self, account: str = "sim") -> int:
        return int(self.sim(account).store.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])

    def stop(self) -> None:
        self.rt.stop()
        self.ledger.close()


# --- alerts: a real apprise plugin that keeps what it was sent ------------------------------
CAPTURED: list[tuple[str, str]] = []
CAPTURED_TYPES: list[str] = []  # apprise notify type of each captured alert


def _register_capture() -> None:
    import apprise.decorators

    @apprise.decorators.notify(on="capture")
    def _capture(body: str, title: str = "", notify_type: str = "", *args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        CAPTURED.append((title, body))
        CAPTURED_TYPES.append(str(notify_type))
        return True


_register_capture()

ALERTS_YAML = "alerts:\n  urls: ['capture://desk']\n  min_interval_s: 300\n"


def make_dust(desk: Desk, variant: str, instrument: str = "BTC-USD") -> None:
    """Leave ``variant`` holding a dust fragment (BTC 0.0003 ~ $9; ETH 0.004 ~ $8)."""
    if instrument == "BTC-USD":
        desk.trade(variant, "buy", "0.0010", instrument)
        desk.trade(variant, "sell", "0.0007", instrument, purpose="exit")
    else:
        desk.trade(variant, "buy", "0.010", instrument)
        desk.trade(variant, "sell", "0.006", instrument, purpose="exit")
