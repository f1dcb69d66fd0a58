"""One builder per incident class the agent is measured on, each through the real runtime.

Each leaves the deployment with its ledger closed and returns the time to ask at (None: now), the incident built by the engine,
the sim venue (its fault hooks) and the operator control module: nothing is written to the
ledger by hand. ``tests/agent/test_scorecard.py`` asks the agent about each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.spec.deployment_config import (
    BackoffSpec,
    BlackoutSpec,
    DrawdownGuardSpec,
    ExposureGroupSpec,
    GuardsSpec,
    RunnerConfig,
)
from tests.kit.desk import Desk, variant_yaml
from venues.base import OrderRequest, OrderType, Side, TimeInForce


def _live(desk: Desk) -> Desk:
    desk.now = time.time()  # heartbeats at the wall clock: the agent sees a live runner
    return desk.start()


def rejected(home: Path) -> None:
    desk = _live(Desk(home))
    desk.sim.faults.append("reject")
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    desk.close()


def loop(home: Path) -> None:
    desk = _live(Desk(home))
    for i in range(3):
        desk.sim.faults.append("reject")
        desk.place("MR_v13", "buy", 0.01)
        desk.step()
        if i < 2:
            desk.resume("MR_v13", clear=True)
            desk.step()
    desk.close()


def risk_block(home: Path) -> None:
    desk = _live(Desk(home, {"MR_v13": variant_yaml("MR_v13", max_order=100)}))
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    desk.close()


def outage_backoff(home: Path) -> None:
    cfg = RunnerConfig(backoff=BackoffSpec(base_s=60, cap_s=60, max_attempts=5))
    desk = Desk(home, config=cfg)
    desk.now = time.time()
    desk.start()
    desk.sim.faults.append("down")
    desk.rt.step()
    desk.close()


def outage_quarantined(home: Path) -> None:
    cfg = RunnerConfig(backoff=BackoffSpec(base_s=0.5, cap_s=0.5, max_attempts=2))
    desk = Desk(home, config=cfg)
    desk.now = time.time()
    desk.start()
    desk.sim.faults.append("down")
    desk.rt.step()
    for _ in range(4):
        desk.now += 1
        desk.rt.step()
    desk.close()


def ambiguous(home: Path) -> None:
    desk = _live(Desk(home))
    desk.sim.faults.append("timeout_after_accept")
    desk.place("MR_v13", "buy", 0.01)
    desk.step(3)
    desk.close()


def rounded_fill(home: Path) -> None:
    desk = _live(Desk(home, {"MR_v13": variant_yaml("MR_v13", style="maker")}))
    rep = desk.place("MR_v13", "buy", 0.0241, price=desk.mid() * 0.995)
    assert rep is not None
    desk.venue_fills(rep, "0.0200", status="filled")
    desk.step(3)
    desk.close()


def invisible_exposure(home: Path) -> None:
    desk = _live(Desk(home, {"MR_v13": variant_yaml("MR_v13", style="maker")}))
    rep = desk.place("MR_v13", "buy", 0.01, price=desk.mid() * 0.995)
    assert rep is not None
    desk.retire("MR_v13")
    desk.step(3)
    desk.venue_fills(rep, "0.01")  # the venue fills the order after acknowledging its cancel
    desk.step(2)
    desk.close()


def dust(home: Path) -> None:
    desk = _live(Desk(home))
    desk.place("MR_v13", "buy", 0.0101)
    desk.step()
    desk.place("MR_v13", "sell", 0.01, purpose="exit")
    desk.retire("MR_v13")
    desk.step(3)
    desk.close()


def unbalanced_pair(home: Path) -> None:
    desk = _live(Desk(home))
    desk.place("MR_v13", "buy", 0.01, group="pair-1")
    desk.place("MR_v13", "sell", 0.1, price=desk.mid("ETH-USD") * 1.02, group="pair-1", sym="ETH-USD")
    desk.step(3)
    desk.close()


def runner_down(home: Path) -> datetime:
    desk = _live(Desk(home))
    desk.close()
    return datetime.now(UTC) + timedelta(minutes=10)  # asked ten minutes after the last heartbeat


def deploy_error(home: Path) -> None:
    desk = _live(Desk(home))
    path = desk.home / "strategies.d" / "MR_v13.yaml"
    path.write_text(path.read_text().replace("entry_z: 50", "entry_z: 40"))
    desk.rt.rescan = True
    desk.step()
    desk.close()


def kill_switch(home: Path) -> None:
    cfg = RunnerConfig(guards=GuardsSpec(daily_drawdown=DrawdownGuardSpec(max_loss=0.01)))
    desk = _live(Desk(home, config=cfg))
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    desk.place("MR_v13", "sell", 0.01, purpose="exit")
    desk.step(3)  # the round trip's fees are a loss beyond 0.01: the kill switch trips
    desk.close()


def drift(home: Path) -> None:
    """The venue holds 0.02 BTC-USD more than the ledger (an order placed behind the runner's back)."""
    desk = _live(Desk(home))
    ask = Decimal(str(desk.sim.book("BTC-USD").asks[0][0] * 1.01)).quantize(Decimal("0.01"))
    desk.sim.submit(OrderRequest("someone-else-1", "BTC-USD", Side.BUY, Decimal("0.02"), OrderType.LIMIT, ask,
                                 TimeInForce.IOC))
    desk.step(2)
    desk.close()


def blackout(home: Path) -> None:
    at = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (home).mkdir(parents=True, exist_ok=True)
    (home / "calendar.yaml").write_text(f"- {{name: CPI, at: {at}}}\n")
    cfg = RunnerConfig(guards=GuardsSpec(blackouts=BlackoutSpec(calendar=str(home / "calendar.yaml"))))
    desk = _live(Desk(home, config=cfg))
    desk.step(2)
    desk.close()


def exposure_cap(home: Path) -> None:
    cfg = RunnerConfig(guards=GuardsSpec(exposure_groups={"btc": ExposureGroupSpec(instruments=["BTC-USD"],
                                                                                    max_positions=1)}))
    desk = _live(Desk(home, {"MR_v13": variant_yaml("MR_v13"), "MR_v14": variant_yaml("MR_v14")}, config=cfg))
    desk.place("MR_v13", "buy", 0.01)
    desk.step()  # filled: MR_v13 holds BTC-USD, the cap of one holder is full (MR_v14 may not enter)
    desk.close()


def paused(home: Path) -> None:
    desk = _live(Desk(home))
    desk.pause("MR_v13")
    desk.step(2)
    desk.close()


def healthy(home: Path) -> None:
    desk = _live(Desk(home))
    desk.step(2)
    desk.close()


def fresh(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)


SCENARIOS: dict[str, Callable[[Path], datetime | None]] = {
    f.__name__: f for f in (rejected, loop, risk_block, outage_backoff, outage_quarantined, ambiguous, rounded_fill,
                            invisible_exposure, dust, unbalanced_pair, runner_down, deploy_error, kill_switch, drift,
                            blackout, exposure_cap, paused, healthy, fresh)
}
