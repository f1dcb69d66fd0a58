"""The backtest's and the replay's venue nets a binary market's YES and NO like Kalshi and the sim.

A kalshi_sum variant buys both legs of a market on a recorded dislocation. On Kalshi (and the
sim) the pair is cash at once; a backtest that kept both legs ended holding them where paper
and live end flat. Here the same recorded binary books go through ``runner backtest`` (the
backtest loop) and ``runner replay`` (the paper path: the runtime, its fill reads and netting),
and both ledgers end with the pair netted into cash, with the same positions and PnL.
A recorded settlement pays out what is held, in the ledger and on the venue.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from runner.engine.backtest import run_backtest
from runner.engine.parity import parity
from runner.engine.replay import replay
from runner.ledger.store import Ledger, default_url
from runner.marketdata.readers import read_events
from runner.marketdata.recorder import resolve
from runner.spec.deployment_config import load_venues
from runner.spec.load import load_variant, parse_variant
from tests.kit.home import REPO, SIM_MANUAL, make_home
from tests.kit.venue_time import run, runtime
from venues.base import Instrument, OrderRequest, OrderType, Side, TimeInForce
from venues.sim.replay import ReplayVenue

T0 = 1_767_225_600.0  # 2026-01-01, a step every 12 s
CALM = ([[48.0, 40.0]], [[48.0, 40.0]])  # yes_ask 52 + no_ask 52: no gap
GAP = ([[55.0, 10.0]], [[55.0, 10.0]])  # yes_ask 45 + no_ask 45: 10c under the payout


def _series(path: Path, books: list[tuple[list[list[float]], list[list[float]]]], result: str | None = None) -> None:
    rows = [{"ts": T0 + 12 * i, "market": "KXSIM-A", "yes_bids": y, "no_bids": n} for i, (y, n) in enumerate(books)]
    if result:
        rows.append({"ts": rows[-1]["ts"] + 12, "market": "KXSIM-A", "result": result})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _variant(tmp: Path) -> Path:
    text = (REPO / "strategies.d" / "Kalshi-sum_v1.yaml").read_text().replace("[KXSIM-A, KXSIM-B]", "[KXSIM-A]")
    path = tmp / "Kalshi-sum_v1.yaml"
    path.write_text(text)
    return path


def _held_and_pnl(ledger: Ledger, run_id: str, variant: str) -> tuple[dict[str, Decimal], Decimal]:
    pos = ledger.positions(run_id, variant)
    return {p.instrument: p.qty for p in pos}, sum((p.realized_pnl for p in pos), Decimal(0))


def test_a_pair_bought_in_a_backtest_ends_netted_into_cash_as_in_the_paper_replay(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", SIM_MANUAL + "  fill_latency: next_step\n")
    venues = load_venues(home.path)
    loaded = load_variant(_variant(tmp_path), venues)
    # calm books to start on, two dislocated ones (the entry decided on the first fills on the
    # second, at 45c a leg, 10 contracts: the depth), then calm again (a second entry's IOC expires)
    sess = tmp_path / "session"
    (sess / "decisions").mkdir(parents=True)
    data = sess / "sim__KXSIM-A__binary-books-1.jsonl"
    _series(data, [CALM] * 6 + [GAP, GAP] + [CALM] * 6)
    (sess / "session.json").write_text(json.dumps({"session": "s1", "started": T0, "variants": {"Kalshi-sum_v1": {
        "yaml": loaded.yaml_text, "account": "sim", "files": {"KXSIM-A": data.name}, "warm_until": None}}}))

    bt_ledger = Ledger(f"sqlite:///{tmp_path}/bt.db")
    try:
        res = run_backtest(loaded, [("KXSIM-A", data)], bt_ledger, venues)
        key = f"{loaded.id}@{res.run_id}"
        bt_fills = bt_ledger.fills(res.run_id, key, limit=None)
        bt_held, bt_pnl = _held_and_pnl(bt_ledger, res.run_id, key)
    finally:
        bt_ledger.close()
    bought = {f.instrument: f.qty for f in bt_fills if f.side == "buy" and f.liquidity == "taker"}
    assert bought == {"KXSIM-A:yes": Decimal(10), "KXSIM-A:no": Decimal(10)}, bt_fills
    netted = sorted((f.instrument, f.qty, f.price) for f in bt_fills if f.liquidity == "netting")
    assert netted == [("KXSIM-A:no", Decimal(10), Decimal(55)), ("KXSIM-A:yes", Decimal(10), Decimal(45))]
    assert bt_held == {"KXSIM-A:yes": Decimal(0), "KXSIM-A:no": Decimal(0)}  # cash, as on the venue
    assert bt_pnl == Decimal(10) * (100 - 45 - 45)  # the pair's 100c less its cost, in cents (fees apart)
    assert sum((f.fee for f in bt_fills), Decimal(0)) == 2 * 18  # Kalshi's ceil(0.07 x 10 x .45 x .55) a leg
    assert res.metrics["trades"] == 1 and not res.extra["open_trades"]  # one round trip, closed

    doc = replay(sess, home.path, venues)  # the paper path over the same books
    rp_ledger = Ledger(default_url(Path(doc["replay"])))
    try:
        rp_fills = rp_ledger.fills(variant="Kalshi-sum_v1", limit=None)
        rp_held, rp_pnl = _held_and_pnl(rp_ledger, "main", "Kalshi-sum_v1")
    finally:
        rp_ledger.close()
    assert sorted((f.instrument, f.side, f.qty, f.price, f.fee, f.liquidity) for f in rp_fills) == sorted(
        (f.instrument, f.side, f.qty, f.price, f.fee, f.liquidity) for f in bt_fills)
    assert (rp_held, rp_pnl) == (bt_held, bt_pnl)


def test_the_replay_venue_nets_its_own_positions_and_pays_out_a_settlement() -> None:
    """What the venue holds (the audits' side of the ledger-vs-venue check): a pair is nothing,
    only the unpaired rest of a leg is held, and a settlement leaves nothing."""
    venue = ReplayVenue("sim", {"KXSIM-A": Instrument("KXSIM-A", Decimal(1), Decimal(1))})  # as a backtest has it
    book = {"yes_bid": 55.0, "yes_bid_size": 10.0, "no_bid": 40.0, "no_bid_size": 10.0, "yes_ask": 60.0, "no_ask": 45.0}
    venue.set_market(T0, "KXSIM-A", 55.0, 60.0, (10.0,), (10.0,), book)
    for cid, leg, qty, px in (("a", "KXSIM-A:yes", 7, 60), ("b", "KXSIM-A:no", 4, 45)):
        venue.submit(OrderRequest(cid, leg, Side.BUY, Decimal(qty), OrderType.LIMIT, Decimal(px), TimeInForce.IOC))
    venue.submit(OrderRequest("r", "KXSIM-A:no", Side.BUY, Decimal(5), OrderType.LIMIT, Decimal(30), TimeInForce.GTC))
    venue.set_market(T0 + 12, "KXSIM-A", 55.0, 60.0, (10.0,), (10.0,), book)
    assert {f.instrument: f.qty for f in venue.fills().fills} == {"KXSIM-A:yes": 7, "KXSIM-A:no": 4}
    assert [(p.instrument, p.qty) for p in venue.positions()] == [("KXSIM-A:yes", Decimal(3))]
    assert [r.client_order_id for r in venue.open_orders()] == ["r"]
    venue.take_reports()
    venue.set_market(T0 + 24, "KXSIM-A", 55.0, 60.0, (10.0,), (10.0,),
                     {**book, "settled_id": 1.0, "settled_ts": T0 + 20, "settled_yes": 100.0})
    assert venue.positions() == [] and venue.open_orders() == []
    assert [(r.client_order_id, r.status.value) for r in venue.take_reports()] == [("r", "cancelled")]
    btc = Instrument("BTC", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(1))
    spot = ReplayVenue("sim", {"BTC": btc}, defer=False)  # never binary: nothing nets
    spot.set_market(T0, "BTC", 100.0, 101.0)
    spot.submit(OrderRequest("s", "BTC", Side.BUY, Decimal(1), OrderType.MARKET))
    assert [(p.instrument, p.qty) for p in spot.positions()] == [("BTC", Decimal(1))]


def test_a_sim_session_with_a_netted_pair_and_settlements_backtests_to_the_same_ledger(tmp_path: Path) -> None:
    """Kalshi-sum on the sim (seed 3) past its markets' settlements (every 150 and 200 steps),
    completing a pair the sim nets at step 334: the recording names the settlements, and the
    backtest nets the pair as the sim did, so it decides the same, event by event (parity 100%),
    and ends with the same ledger (each leg's position and realized PnL)."""
    home = make_home(tmp_path / "home", SIM_MANUAL.replace("seed: 7", "seed: 3") + "  fill_latency: next_step\n")
    home.add_variant("Kalshi-sum_v1.yaml")
    t = [time.time()]
    rt = runtime(home.path, t)
    try:
        run(rt, t, 340)
    finally:
        rt.stop()
    paper = {p.instrument: (p.qty, p.realized_pnl) for p in rt.ledger.positions(variant="Kalshi-sum_v1")}
    netted = {f.instrument for f in rt.ledger.fills(variant="Kalshi-sum_v1", limit=None) if f.liquidity == "netting"}
    rt.ledger.close()
    assert netted == {"KXSIM-B:yes", "KXSIM-B:no"}  # the sim netted a pair the variant bought
    (sess,) = (home.path / "state" / "recordings").iterdir()
    settled = [e.extra["settled_id"] for e in read_events(resolve(sess, "sim__KXSIM-A__binary-books-5.jsonl"), "KXSIM-A")
               if "settled_id" in e.extra]
    assert len(set(settled)) == 2  # rounds 0 and 1: each named once, then carried on later books as the venue does
    venues = load_venues(home.path)
    doc = parity(sess, venues)
    (v,) = doc["variants"]
    assert v["identical"] == v["events"] >= 600, v["divergences"][:2]
    meta = json.loads((sess / "session.json").read_text())["variants"]["Kalshi-sum_v1"]
    loaded = parse_variant(meta["yaml"], Path("Kalshi-sum_v1.yaml"), venues)
    ledger = Ledger(f"sqlite:///{tmp_path}/bt.db")
    try:
        res = run_backtest(loaded, [(s, resolve(sess, n)) for s, n in meta["files"].items()], ledger, venues,
                           seed_until=meta["warm_until"])
        backtest = {p.instrument: (p.qty, p.realized_pnl)
                    for p in ledger.positions(res.run_id, f"{loaded.id}@{res.run_id}")}
    finally:
        ledger.close()
    assert paper and backtest == paper
