"""Retiring a Kalshi variant, and settling what a retired one still holds (issue 13).

Kalshi nets a YES+NO pair into cash at once, so a retiring ``kalshi_sum`` variant holding a
pair has nothing on the venue to sell: its reduce-only exits would all be refused. The pair is
booked as the venue closed it (``netting`` fills at prices summing to 100c, no order), and only
an unpaired remainder is sold. A retired variant that still holds a leg (abandoned) keeps
reading that market, so its settlement is booked. Real runtime, ledger and Kalshi adapter; only
Kalshi's HTTP is faked (respx), with the documented payloads.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runner import control
from runner.audit.inputs import gather_venues, read_ledger
from runner.audit.venue_checks import ledger_vs_venue, retired_flat
from runner.lifecycle import State
from tests.engine.test_kalshi_end_to_end import k, legs, sum_yaml, trade_one_pair, venues_yaml  # noqa: F401 - fixture
from tests.kit.home import make_home
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import key_file, rsa_key  # noqa: F401 - pytest fixtures

VID = "Kalshi-sum_v9"
T2 = "KXFED-25DEC-T3.75"


def _orders_posted(kf: fake.FakeKalshi) -> int:
    return sum(1 for r in kf.calls if r.method == "POST" and r.url.path.endswith("/portfolio/orders"))


def test_retiring_a_netted_pair_books_the_payout_and_sends_no_order(tmp_path: Path, k: fake.FakeKalshi) -> None:  # noqa: F811
    k.set_book(yes=[(52, 20)], no=[(54, 20)])  # YES asks 46, NO asks 48
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER]), variants={VID: sum_yaml("market", [fake.TICKER])})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    try:
        rt.start()
        trade_one_pair(rt, ledger, k)
        assert legs(ledger, VID) == {}  # netted while trading (this test held both legs until retire before)
        sent = _orders_posted(k)
        control.retire(ledger, VID)
        for _ in range(4):
            rt.step()
        assert rt.engines[VID].state is State.RETIRED
        assert _orders_posted(k) == sent  # nothing to sell on Kalshi: no refused exits
        assert legs(ledger, VID) == {}
        netted = [f for f in ledger.fills(variant=VID) if f.liquidity == "netting"]
        assert sorted((f.instrument, f.side, f.qty, f.fee) for f in netted) == [
            (f"{fake.TICKER}:no", "sell", Decimal(10), 0), (f"{fake.TICKER}:yes", "sell", Decimal(10), 0)]
        assert sum(f.price for f in netted) == 100
        pnl = sum(p.realized_pnl for p in ledger.positions(variant=VID))
        assert pnl == 10 * (100 - 46 - 48)  # what the pair earned, as Kalshi paid it on netting
        led = read_ledger(ledger)
        venues = gather_venues(led, rt.venues, rt.adapter, cache=dict(rt.adapters))
        assert not ledger_vs_venue(led, venues) and not retired_flat(led, venues)
    finally:
        rt.stop()
        ledger.close()


def test_an_abandoned_variant_still_holding_a_leg_gets_its_settlement_booked(
        tmp_path: Path, k: fake.FakeKalshi) -> None:  # noqa: F811
    k.set_book(yes=[(40, 20)], no=[(55, 20)])  # YES asks 45 on both markets: 90 < 98
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER, T2]),
                     variants={VID: sum_yaml("event", [fake.TICKER, T2])})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    try:
        rt.start()
        for _ in range(4):
            rt.step()
        assert legs(ledger, VID) == {f"{fake.TICKER}:yes": Decimal(10), f"{T2}:yes": Decimal(10)}
        control.abandon(ledger, VID, "venue unreachable")
        rt.step()
        assert rt.engines[VID].state is State.RETIRED
        k.settle(fake.TICKER, "yes")
        for _ in range(2):
            rt.step()
        paid = [f for f in ledger.fills(variant=VID) if f.liquidity == "settlement"]
        assert [(f.instrument, f.price, f.qty) for f in paid] == [(f"{fake.TICKER}:yes", Decimal(100), Decimal(10))]
        assert legs(ledger, VID) == {f"{T2}:yes": Decimal(10)}  # the other market has not settled
    finally:
        rt.stop()
        ledger.close()


def test_after_a_restart_a_retired_variant_holding_a_leg_still_books_its_settlement(
        tmp_path: Path, k: fake.FakeKalshi) -> None:  # noqa: F811
    k.set_book(yes=[(40, 20)], no=[(55, 20)])
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER, T2]),
                     variants={VID: sum_yaml("event", [fake.TICKER, T2])})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    try:
        rt.start()
        for _ in range(4):
            rt.step()
        control.abandon(ledger, VID, "venue unreachable")
    finally:
        rt.stop()
    k.settle(fake.TICKER, "no")
    rt = home.runtime(ledger)  # a new runner: the retired variant is picked up for its settlement only
    try:
        rt.start()
        sent = _orders_posted(k)
        for _ in range(3):
            rt.step()
        assert rt.engines[VID].state is State.RETIRED and _orders_posted(k) == sent
        paid = [f for f in ledger.fills(variant=VID) if f.liquidity == "settlement"]
        assert [(f.instrument, f.price) for f in paid] == [(f"{fake.TICKER}:yes", Decimal(0))]
        assert legs(ledger, VID) == {f"{T2}:yes": Decimal(10)}
    finally:
        rt.stop()
        ledger.close()
