"""Issue 13: ``kalshi_sum`` trades on the ``kalshi`` adapter end to end, in both scopes.

The real runtime, engine, ledger and Kalshi adapter (httpx + RSA signing); only Kalshi's HTTP
is faked (respx), with the documented payload shapes. The kind watches the market (``TICKER``),
trades its legs (``TICKER:yes`` / ``TICKER:no``), the venue nets YES against NO and pays the pair
at once, and the ledger books that as it happens (``netting`` fills: both legs flat, the payout in
realized PnL; the ledger-vs-venue check compares netted); a leg still held is settled from the
venue's own records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import respx

from runner.audit.inputs import gather_venues, read_ledger
from runner.audit.venue_checks import ledger_vs_venue
from tests.kit.home import make_home
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import key_file, rsa_key  # noqa: F401 - pytest fixtures
from venues.kalshi.config import DEMO_URL

T2 = "KXFED-25DEC-T3.75"


def venues_yaml(tickers: list[str]) -> str:
    # tier premier: these tests step the runtime back to back, many loop ticks a second, far
    # faster than a running runner; the basic tier's 20 reads a second would refuse reads here
    return (f"kalshi-demo:\n  adapter: kalshi\n  url: {DEMO_URL}\n  tier: premier\n  tickers: [{', '.join(tickers)}]\n"
            "  credentials: {key_id: TEST_KALSHI_KEY_ID, private_key_path: TEST_KALSHI_KEY_PATH}\n")


def sum_yaml(scope: str, instruments: list[str]) -> str:
    return (f"name: Kalshi-sum\nversion: 9\nkind: kalshi_sum\nvenue: kalshi-demo\nmode: paper\n"
            f"instruments: [{', '.join(instruments)}]\n"
            f"params:\n  scope: {scope}\n  min_gap: 2\n  min_depth: 5\n  max_contracts: 10\n"
            "risk:\n  max_order_notional: 5000\n  max_position_notional: 10000\n  max_daily_loss: 5000\n")


@pytest.fixture
def k(key_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[fake.FakeKalshi]:  # noqa: F811
    monkeypatch.setenv("TEST_KALSHI_KEY_ID", fake.KEY_ID)
    monkeypatch.setenv("TEST_KALSHI_KEY_PATH", str(key_file))
    with respx.mock(assert_all_called=False) as router:
        kf = fake.FakeKalshi(router)
        kf.markets[T2] = {**kf.markets[fake.TICKER], "ticker": T2}
        kf.take_iocs = kf.live_positions = True
        kf.settlements = []
        yield kf


def legs(ledger, variant: str) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {p.instrument: p.qty for p in ledger.positions(variant=variant) if p.qty}


def trade_one_pair(rt, ledger, k: fake.FakeKalshi, steps: int = 4) -> None:  # type: ignore[no-untyped-def]
    """Step until the variant bought its pair, then close the gap (the book moved after our IOCs)."""
    for _ in range(steps):
        rt.step()
        if ledger.orders(variant="Kalshi-sum_v9"):
            k.set_book(yes=[(50, 20)], no=[(48, 20)])  # YES asks 52, NO asks 50: no gap


def test_market_scope_buys_both_legs_and_books_the_pair_the_venue_netted_at_once(
        tmp_path: Path, k: fake.FakeKalshi) -> None:
    """Issue 13: Kalshi nets YES against NO and pays the pair; a ledger holding both legs raised
    false criticals and sent exits the venue refused. Netted as it happens: no leg held, the
    payout in realized PnL, no exit order, no finding, and the settlement books nothing more.
    (This test pinned both legs held until settlement before netting while trading.)"""
    # YES asks 46 (a NO bid at 54), NO asks 48 (a YES bid at 52): 94 < 100 - 2
    k.set_book(yes=[(52, 20)], no=[(54, 20)])
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER]),
                     variants={"Kalshi-sum_v9": sum_yaml("market", [fake.TICKER])})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    try:
        rt.start()
        trade_one_pair(rt, ledger, k)
        orders = ledger.orders(variant="Kalshi-sum_v9")
        assert sorted((o.instrument, o.purpose) for o in orders) == [
            (f"{fake.TICKER}:no", "entry"), (f"{fake.TICKER}:yes", "entry")]  # no exit of a netted leg
        assert len({o.group_id for o in orders}) == 1  # one group: YES + NO
        assert legs(ledger, "Kalshi-sum_v9") == {}  # Kalshi holds nothing; neither does the ledger
        netted = [f for f in ledger.fills(variant="Kalshi-sum_v9") if f.liquidity == "netting"]
        assert sorted((f.instrument, f.qty) for f in netted) == [
            (f"{fake.TICKER}:no", Decimal(10)), (f"{fake.TICKER}:yes", Decimal(10))]
        assert sum(f.price for f in netted) == 100
        pnl = sum(p.realized_pnl for p in ledger.positions(variant="Kalshi-sum_v9"))
        assert pnl == 10 * (100 - 46 - 48)  # cents: the payout less what the pair cost
        assert rt.engines["Kalshi-sum_v9"].positions[f"{fake.TICKER}:yes"].qty == 0  # the engine too
        led = read_ledger(ledger)
        assert not ledger_vs_venue(led, gather_venues(led, rt.venues, rt.adapter, cache=dict(rt.adapters)))

        k.settle(fake.TICKER, "no")
        for _ in range(2):
            rt.step()
        assert not [f for f in ledger.fills(variant="Kalshi-sum_v9") if f.liquidity == "settlement"]
        assert sum(p.realized_pnl for p in ledger.positions(variant="Kalshi-sum_v9")) == pnl
    finally:
        rt.stop()
        ledger.close()


def test_event_scope_buys_yes_on_every_market_of_the_event(tmp_path: Path, k: fake.FakeKalshi) -> None:
    k.set_book(yes=[(40, 20)], no=[(55, 20)])  # every market's YES asks 45: 90 < 98 for two
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER, T2]),
                     variants={"Kalshi-sum_v9": sum_yaml("event", [fake.TICKER, T2])})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    try:
        rt.start()
        for _ in range(4):
            rt.step()
        assert legs(ledger, "Kalshi-sum_v9") == {f"{fake.TICKER}:yes": Decimal(10), f"{T2}:yes": Decimal(10)}
        led = read_ledger(ledger)
        assert not ledger_vs_venue(led, gather_venues(led, rt.venues, rt.adapter, cache=dict(rt.adapters)))
    finally:
        rt.stop()
        ledger.close()


def test_a_pair_netted_to_nothing_settles_from_the_markets_own_result(tmp_path: Path, k: fake.FakeKalshi) -> None:
    """Kalshi may keep no settlement record for a YES+NO pair it netted to zero: the settled
    market's own ``result`` closes the ledger's legs instead (legs a runner before netting while
    trading left in the ledger; this test traded them before that)."""
    from runner.ledger.models import MAIN_RUN
    from runner.ledger.store import NewFill

    k.set_book(yes=[(50, 20)], no=[(48, 20)])  # no gap: it buys nothing more
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER]),
                     variants={"Kalshi-sum_v9": sum_yaml("market", [fake.TICKER])})
    ledger = home.ledger()
    bought = datetime(2025, 12, 1, tzinfo=UTC)  # before the market settled
    ledger.apply_fills([NewFill(f"kalshi-demo:old-{leg}", None, MAIN_RUN, "Kalshi-sum_v9", "kalshi-demo",
                                f"{fake.TICKER}:{leg}", "buy", Decimal(10), px, Decimal(0), bought)
                        for leg, px in (("yes", Decimal(46)), ("no", Decimal(48)))])
    rt = home.runtime(ledger)
    try:
        rt.start()
        for _ in range(2):
            rt.step()
        assert len(legs(ledger, "Kalshi-sum_v9")) == 2
        k.orderbook = {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}  # settled: no book, no record
        k.markets[fake.TICKER] = {**k.markets[fake.TICKER], "status": "finalized", "result": "yes",
                                  "settlement_ts": "2025-12-17T15:00:05Z"}
        for _ in range(2):
            rt.step()
        assert legs(ledger, "Kalshi-sum_v9") == {}
        paid = [f for f in ledger.fills(variant="Kalshi-sum_v9") if f.liquidity == "settlement" and f.price == 100]
        assert [f.instrument for f in paid] == [f"{fake.TICKER}:yes"]
    finally:
        rt.stop()
        ledger.close()
