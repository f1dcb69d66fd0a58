"""Issue 12, item 4: each account trades on its own thread, so a venue that hangs stalls only
its own variants.

The real runtime (``Runtime.run``, account threads), ledger, sim adapter and Hyperliquid
adapter (the real SDK); only Hyperliquid's HTTP is faked (``responses``), and its ``/info``
answers hang on demand, as a venue whose gateway stops answering does. While the
Hyperliquid account's thread is stuck inside a request, the market maker on the sim account
must keep quoting; a clean stop then cancels its resting quotes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from runner.engine.report import Reporter
from runner.engine.runtime import Runtime
from runner.ledger.order_states import OPEN as OPEN_STATUSES
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.deployment import variant_yaml
from tests.kit.home import make_home
from tests.venues.test_hyperliquid_fake import FakeHyperliquid, stand_in

HANG_S = 10.0

VENUES = ("sim:\n  adapter: sim\n  seed: 11\n  tick_interval_s: 0.05\n"
          "hl:\n  adapter: hyperliquid\n  testnet: true\n  stream: false\n"
          "  credentials: {secret_key: HL_K, account_address: HL_A}\n")

MM = """\
name: MM
version: 1
kind: market_making
venue: sim
mode: paper
instruments: [ETH-USD]
params:
  half_spread_bps: 3
  min_size: 0.1
  max_size: 1.0
  volume_window: 20
  volume_ref: 5
  max_inventory: 3
  skew: 1.0
  reprice_bps: 2
  min_replace_s: 0.2s
  refresh_s: 1s
  reference: mid
  price_band_pct: 0.02
  max_ref_drift_pct: 0.005
execution:
  style: maker
risk:
  max_order_notional: 5000
  max_position_notional: 10000
  max_daily_loss: 2000
"""


class HangingHyperliquid(FakeHyperliquid):
    """``/info`` answers wait (up to ``HANG_S``) while ``hang`` is set: the account's thread is
    stuck in the SDK's request, exactly where a real unresponsive venue would hold it."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.hang = threading.Event()
        self.release = threading.Event()
        self.hanging = threading.Event()  # a request is stuck right now
        self.done = threading.Event()  # the one stall is over
        super().__init__(rsps)
        self.info["candleSnapshot"] = []  # no history: the variant warms on live bars

    def _on_info(self, request: requests.PreparedRequest) -> Any:
        if self.hang.is_set():  # one stall of HANG_S (or until released)
            self.hang.clear()
            self.hanging.set()
            self.release.wait(HANG_S)
            self.hanging.clear()
            self.done.set()
        return super()._on_info(request)


@pytest.fixture
def hl(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with stand_in(monkeypatch, HangingHyperliquid) as fake:
        yield fake


def sim_orders(ledger: Ledger) -> int:
    return len(ledger.orders(variant="MM_v1", limit=100000))


def test_a_hanging_venue_stalls_only_its_own_account_and_a_clean_stop_cancels_the_rest(
        tmp_path: Path, hl: HangingHyperliquid) -> None:
    home = make_home(tmp_path / "desk", VENUES, runner_yaml="loop_interval_s: 0.05\naudits: {all: '0 0 1 1 *', "
                     "reconcile: '0 0 1 1 *'}\n",
                     variants={"MM_v1": MM, "X_v1": variant_yaml("X_v1", ("BTC",), venue="hl")}).path
    ledger = Ledger(default_url(home))
    rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), Reporter(quiet=True))
    rt.start()
    seen: dict[str, Any] = {}

    def script() -> bool:
        """Quote first; then hang Hyperliquid and count the sim's orders while it is stuck."""
        if "hung_at" not in seen:
            if sim_orders(ledger) >= 2 and "hl" in rt.adapters:
                hl.hang.set()
                seen["hung_at"] = True
            return False
        if hl.hanging.is_set():
            n = sim_orders(ledger)
            seen.setdefault("during", n)
            if n > seen["during"] and hl.hanging.is_set():
                seen["placed_while_hung"] = n - seen["during"]
                seen["still_stuck"] = not hl.done.is_set()
                hl.release.set()  # the venue answers again: run() can end its threads
                return True
        return hl.done.is_set()  # the stall ended and nothing was placed during it

    try:
        rt.run(should_stop=script, concurrent=True)
        assert seen.get("still_stuck"), "the Hyperliquid account's thread was still stuck in its request"
        assert seen.get("placed_while_hung", 0) > 0, "the sim account kept placing orders meanwhile"
    finally:
        hl.release.set()  # the venue answers again: the stop can finish
        rt.stop(clean=True)
    open_quotes = [o for o, _s in ledger.orders_with_status(OPEN_STATUSES, "main", "MM_v1")]
    assert open_quotes == [], "a clean stop cancels every resting quote"
    ledger.close()
