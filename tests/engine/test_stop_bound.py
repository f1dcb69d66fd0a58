"""A clean stop that a hung venue cannot delay (issue 12: one slow venue never stalls another).

The stop cancels resting orders and reads the last fills of every account at once, each on its
own thread, within ``stop_timeout_s``. Here Hyperliquid (the real SDK and adapter; only its HTTP
faked by ``responses``) stops answering its fill reads at the stop: the stop returns although
the venue never answered, the sim account's last fill (an IOC sent in the last step) is booked,
and the Hyperliquid fill the stop could not read is booked by the next start, once.
"""

from __future__ import annotations

import io
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from rich.console import Console

from runner.engine.client_ids import client_order_id
from runner.engine.report import Reporter
from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger, default_url
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.deployment import variant_yaml
from tests.kit.home import SIM_MANUAL, drive, drive_until, make_home, mr_yaml
from tests.kit.process import wait_for
from tests.venues.test_hyperliquid_fake import FakeHyperliquid, stand_in
from venues.base import OrderRequest, OrderType, Side, TimeInForce
from venues.hyperliquid.precision import to_cloid

BOUND_S = 8  # generous for the sim account's last cancels and reads on a loaded machine
VENUES = SIM_MANUAL + ("hl:\n  adapter: hyperliquid\n  testnet: true\n  stream: false\n  on_stop: leave\n"
                       "  credentials: {secret_key: HL_K, account_address: HL_A}\n")


class HungAtStop(FakeHyperliquid):
    """Fill reads (``userFillsByTime``) answer normally while ``mode`` is ``up``; on ``hang``
    they wait until released (a venue whose gateway stops answering), then, like every read
    while ``down``, fail as a dropped connection."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.mode = "up"
        self.release = threading.Event()
        self.stuck = threading.Event()  # a fill read was held by the hang...
        self.answered = threading.Event()  # ...and answered (with the dropped connection)
        super().__init__(rsps)
        self.info["candleSnapshot"] = []  # no history: the variant warms on live bars

    def _on_info(self, request: requests.PreparedRequest) -> Any:
        if json.loads(request.body or "{}").get("type", "").startswith("userFills") and self.mode != "up":
            if self.mode == "hang":
                self.stuck.set()
                self.release.wait(120)
                self.answered.set()
            return requests.exceptions.ConnectionError("connection reset by peer")
        return super()._on_info(request)


@pytest.fixture
def hl(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with stand_in(monkeypatch, HungAtStop) as fake:
        yield fake
        fake.release.set()  # type: ignore[attr-defined]


def _runtime(home: Path, ledger: Ledger, out: io.StringIO) -> Runtime:
    return Runtime(home, ledger, load_venues(home), load_runner_config(home), Reporter(Console(file=out, width=400)))


def _fills_of(ledger: Ledger, cid: str) -> list[Any]:
    return [f for f in ledger.fills(limit=None) if f.client_order_id == cid]


def test_a_clean_stop_returns_although_a_venue_never_answers_and_the_next_start_books_its_fill(
        tmp_path: Path, hl: HungAtStop) -> None:
    home = make_home(tmp_path / "desk", VENUES, runner_yaml=f"stop_timeout_s: {BOUND_S}\n",
                     variants={"MR_v13": mr_yaml(entry_z=50), "H_v1": variant_yaml("H_v1", ("BTC",), venue="hl")}).path
    ledger = Ledger(default_url(home))
    out = io.StringIO()
    rt = _runtime(home, ledger, out)
    rt.start()
    drive_until(rt, lambda: {"MR_v13", "H_v1"} <= set(rt.engines))
    drive(rt, 2)
    # the sim account: an IOC that takes at once, sent in the last step (its fill unread)
    eng, sim = rt.engines["MR_v13"], rt.adapters["sim"]
    ask = Decimal(repr(sim.book("BTC-USD").asks[0][0]))
    sim_cid = client_order_id(eng.run_id, eng.id, eng._seq, eng.cid_salt)
    rep = eng.send(sim.prepare(OrderRequest(sim_cid, "BTC-USD", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                            ask * Decimal("1.01"), TimeInForce.IOC)), "entry")
    assert rep is not None and rep.filled_qty == Decimal("0.01")
    # Hyperliquid: a resting order of H_v1 that fills on the venue just before the stop
    h, ad = rt.engines["H_v1"], rt.adapters["hl"]
    bid = Decimal(repr(ad.book("BTC").bids[0][0]))
    hl_cid = client_order_id(h.run_id, h.id, h._seq, h.cid_salt)
    hl.accept_next()
    rep = h.send(ad.prepare(OrderRequest(hl_cid, "BTC", Side.BUY, Decimal("0.01"), OrderType.LIMIT,
                                         bid * Decimal("0.98"), TimeInForce.GTC)), "entry")
    assert rep is not None and rep.status.is_open
    hl.fill(to_cloid(hl_cid), [Decimal("0.01")], t0=int(time.time() * 1000))
    hl.mode = "hang"
    try:
        rt.stop(clean=True)
        hung_through_the_stop = hl.stuck.is_set() and not hl.answered.is_set()
    finally:
        hl.mode = "down"
        hl.release.set()  # the stuck read fails now, as a dropped connection
    assert hung_through_the_stop, "the stop returned although Hyperliquid never answered its fill read"
    assert sum(f.qty for f in _fills_of(ledger, sim_cid)) == Decimal("0.01")  # the healthy account's last fill
    assert _fills_of(ledger, hl_cid) == []  # not read at the stop
    assert f"hl: the venue did not answer within {BOUND_S}s of the stop" in out.getvalue()
    wait_for(lambda: not any(t.name == "stop-hl" for t in threading.enumerate()), timeout=120)
    # the next start reads it from H_v1's fill cursor, and books it once
    hl.mode = "up"
    again = _runtime(home, ledger, out)
    again.start()
    def read_it() -> bool:  # steps until the (paced) fill read came round: however fast the steps
        drive(again, 1)
        return bool(_fills_of(ledger, hl_cid))

    wait_for(read_it, timeout=120)
    drive(again, 3)
    [fill] = _fills_of(ledger, hl_cid)
    assert fill.qty == Decimal("0.01") and fill.variant == "H_v1"
    again.stop(clean=True)
    assert len(_fills_of(ledger, hl_cid)) == 1
    ledger.close()

