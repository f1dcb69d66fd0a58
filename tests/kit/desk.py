"""The test desk: a deployment on a manual-clock sim venue, driven step by step through the real runtime.

The runtime, the engine, the sim venue (with its fault hooks) and the ledger are all real.
Nothing is inserted in the ledger by hand; a misbehaving venue is simulated in the venue's own
state, as ``tests/venues/test_sim_contract.py`` does. Two ways in:

- ``Desk(home, {vid: yaml}).start()`` (the agent's incident scenarios): each ``step`` also moves
  the sim's market one step;
- ``Desk.create(root, {vid: instruments})`` / ``Desk.open(home)`` (engine, audit and lifecycle
  tests): started and warm, and the market stands still unless a test moves it
  (``desk.sim.advance()``), so every trade prices at one known book.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runner import control
from runner.engine.lifecycle_driver import transition
from runner.engine.runtime import Runtime
from runner.engine.variant import VariantEngine
from runner.kinds.base import Intent, MarketEvent
from runner.ledger.store import Ledger, default_url
from runner.lifecycle import MANAGES_POSITIONS, State, Trigger
from runner.spec.deployment_config import RunnerConfig, VenuesConfig, load_runner_config, load_venues
from tests.kit.deployment import make_home as deployment_home
from tests.kit.home import make_home, variant_text
from venues.base import OrderReport
from venues.sim.adapter import SimAdapter


def variant_yaml(vid: str, max_order: int = 5000, notes: str = "test variant", style: str = "taker") -> str:
    """Two instruments, an entry threshold nothing reaches: the variant trades only when told to."""
    return variant_text(vid, {"window": 2, "entry_z": 50, "exit_z": 0.5, "long_only": False, "stop_loss_pct": 0.5,
                              "max_hold": "10h", "order_notional": 300},
                        {"max_order_notional": max_order, "max_position_notional": 10000, "max_daily_loss": 1000},
                        instruments=("BTC-USD", "ETH-USD"), style=style, notes=notes)


class Desk:
    """A deployment directory with one runtime on a manual clock; ``step`` advances the runner."""

    def __init__(self, home: Path, variants: dict[str, str] | None = None,
                 config: RunnerConfig | None = None, db: str | None = None) -> None:
        make_home(home, variants=variants or {"MR_v13": variant_yaml("MR_v13")}, runbook=True)
        self._attach(home, config or RunnerConfig(), db, now=1_700_000_000.0, market_moves=True)

    def _attach(self, home: Path, config: RunnerConfig, db: str | None, now: float, market_moves: bool) -> None:
        self.home = home
        self.now = now
        self.market_moves = market_moves  # each step moves the sim's market one step
        self.ledger = Ledger(db or default_url(home))
        self.rt = Runtime(home, self.ledger, load_venues(home), config, clock=lambda: self.now)

    @classmethod
    def create(cls, root: Path, variants: dict[str, tuple[str, ...]] | None = None, runner_yaml: str = "") -> Desk:
        """A home under ``root`` with one trading variant per entry (id -> instruments), started and warm."""
        return cls.open(deployment_home(root, variants if variants is not None else {"MR_v1": ("BTC-USD",)},
                                        runner_yaml))

    @classmethod
    def open(cls, home: Path, db: str | None = None, now: float = 1_000_000.0, market_moves: bool = False) -> Desk:
        """A runtime on an existing home (a restart, another ledger), started and warm."""
        desk = cls.__new__(cls)
        desk._attach(home, load_runner_config(home), db, now=now, market_moves=market_moves)
        desk.rt.start()
        desk.step(3)  # pending -> warming -> active (window 2)
        return desk

    # --- driving -----------------------------------------------------------------------
    def start(self, steps: int = 4) -> Desk:
        self.rt.start()
        self.step(steps)
        return self

    def step(self, n: int = 1, dt: float = 1.0) -> None:
        for _ in range(n):
            self.now += dt
            if self.market_moves:
                self.sim.advance()
            self.rt.step()

    @property
    def sim(self) -> SimAdapter:
        ad = self.rt.adapter("sim")
        assert isinstance(ad, SimAdapter)
        return ad

    @property
    def venues(self) -> VenuesConfig:
        return self.rt.venues

    @property
    def config(self) -> RunnerConfig:
        return self.rt.config

    def engine(self, vid: str) -> VariantEngine:
        return self.rt.engines[vid]

    def event(self, sym: str = "BTC-USD") -> MarketEvent:
        b = self.sim.book(sym)
        return MarketEvent(b.ts, sym, b.bids[0][0], b.asks[0][0],
                           tuple(s for _, s in b.bids), tuple(s for _, s in b.asks))

    def place(self, vid: str, side: str, qty: float, purpose: str = "entry", price: float | None = None,
              group: str | None = None, sym: str = "BTC-USD", urgent: bool = False) -> OrderReport | None:
        """An intent handed to the variant's engine, as its strategy would return it: refused (a skip,
        None) when the engine's own checks would refuse it (its state, the guards, the gates,
        the session). Unlike a strategy's decision it may stack on an order already working on
        the instrument: tests rest several orders to build an incident."""
        eng = self.engine(vid)
        intent = Intent(sym, side, purpose, qty=qty, price=price, group=group, urgent=urgent)
        ev = self.event(sym)
        refused = (f"state_{eng.state.value}" if eng.state not in MANAGES_POSITIONS
                   else eng._entry_block(ev.ts, sym) if intent.is_entry else None)
        if refused:
            eng._skip(refused)
            return None
        return eng.place(intent, ev)

    def trade(self, variant: str, side: str, qty: str, instrument: str = "BTC-USD", purpose: str = "entry",
              group: str | None = None) -> None:
        """Have ``variant`` send one taker order through its engine (``place``), then read the fills."""
        self.place(variant, side, float(qty), purpose, group=group, sym=instrument, urgent=True)
        self.step()

    def venue_fills(self, rep: OrderReport, qty: str, status: str | None = None, reason: str | None = None) -> None:
        """The venue books a fill (and optionally a final status) for an order on its own:
        a late fill after a cancel, a fill rounded by the venue, a note in its answer."""
        sim = self.sim
        with sim.store.tx() as db:
            if Decimal(qty):
                sim._record_fill(db, rep.client_order_id, rep.venue_order_id or "", rep.instrument, rep.side,
                                 Decimal(qty), rep.price or Decimal(0), "maker", sim.instrument(rep.instrument))
            if status:
                db.execute("UPDATE orders SET status=?, reason=? WHERE client_order_id=?",
                           (status, reason, rep.client_order_id))

    def venue_orders(self) -> int:
        return int(self.sim.store.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])

    def mid(self, sym: str = "BTC-USD") -> float:
        return self.sim.book(sym).mid

    # --- operator commands (the same control module the CLI uses) ---------------------
    def pause(self, vid: str) -> None:
        control.pause(self.ledger, vid)

    def resume(self, vid: str, clear: bool = False) -> None:
        control.resume(self.ledger, vid, clear)

    def retire(self, vid: str, steps: int = 0) -> None:
        """Retire through the operator path, then let the runtime work ``steps`` steps (dust stays)."""
        control.retire(self.ledger, vid)
        self.step(steps)

    def force_retired(self, variant: str) -> None:
        """Replay a buggy old runner: mark the variant retired without flattening it."""
        st = State(self.ledger.state(variant).state)  # type: ignore[union-attr]
        transition(self.ledger, variant, st, Trigger.RETIRE, "retire", "old runner", "system")
        transition(self.ledger, variant, State.RETIRING, Trigger.FLAT, "retire", "old runner: flat?", "system")
        self.rt.engines[variant].state = State.RETIRED

    def state(self, vid: str) -> str:
        rec = self.ledger.state(vid)
        assert rec is not None
        return rec.state

    def position(self, vid: str, instrument: str | None = None) -> Decimal:
        """The ledger's position of ``vid`` on ``instrument`` (summed over its instruments if None)."""
        return sum((p.qty for p in self.ledger.positions(variant=vid) if instrument in (None, p.instrument)),
                   Decimal(0))

    def close(self) -> None:
        self.rt.stop()
        self.ledger.close()
