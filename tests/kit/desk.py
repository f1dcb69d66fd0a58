"""A small deployment on a manual-clock sim venue, driven step by step through the real runtime.

The agent's scenario tests build every incident through this: the runtime, the engine, the
sim venue (with its fault hooks) and the SQLite ledger are all real. Nothing is inserted in
the ledger by hand; a misbehaving venue is simulated in the venue's own state, as
``tests/venues/test_sim_contract.py`` does.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runner import control
from runner.engine.runtime import Runtime
from runner.engine.variant import VariantEngine
from runner.kinds.base import Intent, MarketEvent
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import RunnerConfig, load_venues
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
    """A deployment directory with one runtime; ``step`` advances the market and the runner."""

    def __init__(self, home: Path, variants: dict[str, str] | None = None,
                 config: RunnerConfig | None = None, db: str | None = None) -> None:
        self.home = home
        make_home(home, variants=variants or {"MR_v13": variant_yaml("MR_v13")}, runbook=True)
        self.now = 1_700_000_000.0
        self.ledger = Ledger(db or default_url(home))
        self.rt = Runtime(home, self.ledger, load_venues(home), config or RunnerConfig(), clock=lambda: self.now)

    # --- driving -----------------------------------------------------------------------
    def start(self, steps: int = 4) -> Desk:
        self.rt.start()
        self.step(steps)
        return self

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.now += 1.0
            self.sim.advance()
            self.rt.step()

    @property
    def sim(self) -> SimAdapter:
        return self.rt.adapters["sim"]  # type: ignore[return-value]

    def engine(self, vid: str) -> VariantEngine:
        return self.rt.engines[vid]

    def event(self, sym: str = "BTC-USD") -> MarketEvent:
        b = self.sim.book(sym)
        return MarketEvent(b.ts, sym, b.bids[0][0], b.asks[0][0],
                           tuple(s for _, s in b.bids), tuple(s for _, s in b.asks))

    def place(self, vid: str, side: str, qty: float, purpose: str = "entry", price: float | None = None,
              group: str | None = None, sym: str = "BTC-USD") -> OrderReport | None:
        """An intent handed to the variant's engine, as its strategy would return it."""
        intent = Intent(sym, side, purpose, qty=qty, price=price, group=group)
        return self.engine(vid).place(intent, self.event(sym))

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

    def mid(self, sym: str = "BTC-USD") -> float:
        return self.sim.book(sym).mid

    # --- operator commands (the same control module the CLI uses) ---------------------
    def pause(self, vid: str) -> None:
        control.pause(self.ledger, vid)

    def resume(self, vid: str, clear: bool = False) -> None:
        control.resume(self.ledger, vid, clear)

    def retire(self, vid: str) -> None:
        control.retire(self.ledger, vid)

    def state(self, vid: str) -> str:
        rec = self.ledger.state(vid)
        assert rec is not None
        return rec.state

    def position(self, vid: str) -> Decimal:
        return sum((p.qty for p in self.ledger.positions(variant=vid)), Decimal(0))

    def close(self) -> None:
        self.rt.stop()
        self.ledger.close()
