"""The sim's perps and binary markets: deterministic, funding and settlement as venue cashflows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.errors import PostOnlyRejected
from venues.base import OrderRequest, Side, TimeInForce
from venues.sim.adapter import SimAdapter
from venues.sim.config import SimConfig


def sim(seed: int = 7) -> SimAdapter:
    t = [1000.0]
    v = SimAdapter("sim", SimConfig(seed=seed, clock="manual"), ":memory:", clock=lambda: t[0])
    v.connect()

    def tick(n: int = 1) -> None:
        for _ in range(n):
            t[0] += 1.0
            v.advance()

    v.tick = tick  # type: ignore[attr-defined]
    return v


def snapshot(v: SimAdapter) -> list:
    return [(s, v.book(s).bids[:2], v.book(s).asks[:2], dict(v.book(s).extra))
            for s in ("BTC-USD", "BTC-PERP", "KXSIM-A", "KXSIM-CUP-RED:no")]


def test_the_same_seed_gives_the_same_markets_and_another_seed_does_not() -> None:
    a, b, c = sim(), sim(), sim(8)
    for v in (a, b, c):
        v.tick(120)  # type: ignore[attr-defined]
    assert snapshot(a) == snapshot(b) != snapshot(c)


def test_the_perp_tracks_its_underlying_and_shows_the_funding_rate() -> None:
    v = sim()
    v.tick(10)  # type: ignore[attr-defined]
    perp, spot = v.book("BTC-PERP"), v.book("BTC-USD")
    assert abs(perp.mid - spot.mid) / spot.mid < 0.001
    assert "funding_rate" in perp.extra and "funding_rate" not in spot.extra
    assert v.instruments()["BTC-PERP"].kind == "perp"


def test_funding_settles_on_the_venue_account_every_interval() -> None:
    v = sim()
    v.submit(OrderRequest("short-perp", "BTC-PERP", Side.SELL, Decimal("1"), price=Decimal("29000"), tif=TimeInForce.IOC))
    cash = v.store.balance("USD")
    v.tick(50)  # type: ignore[attr-defined]
    interval, rate, qty, amount = v.store.db.execute("SELECT interval, rate, qty, amount FROM funding").fetchone()
    assert (interval, Decimal(qty)) == (1, Decimal("-1"))
    mark = v.store.db.execute("SELECT mid FROM market WHERE instrument='BTC-PERP'").fetchone()[0]
    assert Decimal(amount) == Decimal(repr(round(rate * mark, 8)))  # a short receives rate * qty * mark
    assert v.store.balance("USD") == cash + Decimal(amount)
    extra = v.book("BTC-PERP").extra
    assert extra["funding_settled_id"] == 1 and extra["funding_settled_rate"] == rate


def test_binary_asks_are_100_minus_the_opposite_bids() -> None:
    v = sim()
    v.tick(3)  # type: ignore[attr-defined]
    yes, no, market = v.book("KXSIM-A:yes"), v.book("KXSIM-A:no"), v.book("KXSIM-A")
    assert yes.asks[0][0] == 100 - no.bids[0][0] and no.asks[0][0] == 100 - yes.bids[0][0]
    assert market.extra["yes_ask"] == yes.asks[0][0] and market.extra["no_bid"] == no.bids[0][0]
    assert v.instruments()["KXSIM-A:yes"].price_band_pct is None  # 1..99c: no band around the mid


def test_yes_and_no_net_like_kalshi_and_expiry_pays_what_is_left() -> None:
    # Kalshi holds one signed position per market: NO bought against YES closes it and the
    # pair is paid its 100c at once. The sim did keep both legs (YES 5 + NO 5 paid at expiry).
    v = sim()
    cash0 = v.store.balance("USD")
    v.submit(OrderRequest("buy-yes", "KXSIM-A:yes", Side.BUY, Decimal("5"), price=Decimal("99"), tif=TimeInForce.IOC))
    paid_yes = cash0 - v.store.balance("USD")
    v.submit(OrderRequest("buy-no", "KXSIM-A:no", Side.BUY, Decimal("3"), price=Decimal("99"), tif=TimeInForce.IOC))
    assert v.store.position("KXSIM-A:yes")[0] == 2 and v.store.position("KXSIM-A:no")[0] == 0
    yes_cost = v.store.position("KXSIM-A:yes")[1]
    assert yes_cost == (paid_yes * 100 - sum(Decimal(f) for (f,) in v.store.db.execute(
        "SELECT fee FROM fills WHERE client_order_id='buy-yes'"))) * 2 / 5  # the rest keeps its average cost
    assert {p.instrument: p.qty for p in v.positions()} == {"KXSIM-A:yes": 2}
    cash = v.store.balance("USD")
    v.tick(150)  # type: ignore[attr-defined]
    (yes_pays,) = v.store.db.execute("SELECT yes_pays FROM settlements WHERE market='KXSIM-A'").fetchone()
    assert yes_pays in (0, 100)
    assert v.store.balance("USD") == cash + Decimal(2) * yes_pays / 100  # 2 YES x 100c, or nothing
    assert v.store.position("KXSIM-A:yes")[0] == v.store.position("KXSIM-A:no")[0] == 0
    assert v.book("KXSIM-A").extra["settled_yes"] == yes_pays
    (s,) = [s for s in v.settlements() if s.ticker == "KXSIM-A"]  # the venue's own record, as Kalshi's
    assert (s.result, s.yes_count, s.no_count, s.revenue) == (
        "yes" if yes_pays else "no", Decimal(2), Decimal(0), Decimal(2 * yes_pays))


def test_an_event_with_several_markets_pays_yes_on_exactly_one() -> None:
    v = sim()
    v.tick(300)  # type: ignore[attr-defined]
    pays = v.store.db.execute("SELECT market, yes_pays FROM settlements WHERE market LIKE 'KXSIM-CUP-%'").fetchall()
    assert len(pays) == 3 and sorted(p for _, p in pays) == [0, 0, 100]


def test_a_crossing_post_only_order_is_refused_as_a_post_only_rejection() -> None:
    v = sim()
    ask = Decimal(repr(v.book("BTC-USD").asks[0][0]))
    with pytest.raises(PostOnlyRejected):
        v.submit(OrderRequest("po", "BTC-USD", Side.BUY, Decimal("0.01"), price=ask, tif=TimeInForce.POST_ONLY))


def test_binary_legs_pay_kalshis_fee_formula_and_move_dollars() -> None:
    # Kalshi: ceil(0.07 x C x P x (1 - P)) dollars to the cent; the sim used to charge a flat 1%
    from runner.money import kalshi_fee_cents

    v = sim()
    v.tick(3)  # type: ignore[attr-defined]
    inst = v.instruments()["KXSIM-A:yes"]
    assert inst.quote == "USD_CENTS" and inst.taker_fee == Decimal("0.07")
    before = v.store.balance("USD")
    ask = Decimal(repr(v.book("KXSIM-A:yes").asks[0][0]))
    v.submit(OrderRequest("fee-1", "KXSIM-A:yes", Side.BUY, Decimal(3), price=ask, tif=TimeInForce.IOC))
    (f,) = v.fills().fills
    assert f.fee == kalshi_fee_cents(f.qty, f.price) and f.fee == (Decimal("0.07") * 3 * f.price * (100 - f.price)
                                                                    / 100).to_integral_value(rounding="ROUND_CEILING")
    assert before - v.store.balance("USD") == (f.qty * f.price + f.fee) / 100  # cents paid in dollars


def test_spot_fills_pay_the_maker_or_taker_rate_on_the_notional() -> None:
    v = sim()
    v.tick(2)  # type: ignore[attr-defined]
    ask = Decimal(repr(v.book("BTC-USD").asks[0][0]))
    v.submit(OrderRequest("fee-2", "BTC-USD", Side.BUY, Decimal("0.01"), price=ask, tif=TimeInForce.IOC))
    (f,) = v.fills().fills
    assert f.liquidity == "taker" and f.fee == (f.qty * f.price * Decimal("0.0005")).quantize(Decimal("0.00000001"))
