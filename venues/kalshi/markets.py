"""Kalshi payloads -> instruments and typed reports. Pure functions over trade-api v2 shapes.

Kalshi is moving from integer fields (``yes_price`` cents, ``count``) to fixed-point strings
(``yes_price_dollars`` "0.5600", ``count_fp`` "10.00"); every reader here takes the new field
first and falls back to the old one. Prices come out in cents (``Decimal``), counts in
contracts. Books come as ``orderbook`` (``yes``/``no`` [[cents, n]], legacy) or
``orderbook_fp`` (``yes_dollars``/``no_dollars`` [["0.1500", "100.00"]]): bids only, as the
ask of one side is 100 minus the bid of the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from runner.errors import RejectedError
from venues.base import (
    BookSnapshot,
    Candle,
    FillReport,
    Instrument,
    OrderReport,
    OrderStatus,
    PositionReport,
    SettlementReport,
    Side,
)

SIDES = ("yes", "no")
QUOTE = "USD_CENTS"  # prices and fees of Kalshi instruments are cents per contract
# Kalshi's published schedule: taker ceil(0.07 x C x P x (1-P)) dollars, maker 0.0175 on the
# markets that charge makers. As a fraction of notional (C x P) that is at most the rate itself
# (before the ceil to a cent), which is what Instrument fees are: the bound the audits check.
TAKER_FEE, MAKER_FEE = Decimal("0.07"), Decimal("0.0175")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def parse_symbol(symbol: str) -> tuple[str, str | None]:
    """``TICKER`` (the market: one book of both sides, what a kind watches) or ``TICKER:yes`` /
    ``TICKER:no`` (a leg: what is traded and held). Any other suffix is refused by name."""
    ticker, sep, side = symbol.rpartition(":")
    if not sep:
        return symbol, None
    if not ticker or side not in SIDES:
        hint = f"; legs are spelled {ticker}:{side.lower()}" if side.lower() in SIDES else ""
        raise RejectedError(f"kalshi: {symbol!r} is not TICKER, TICKER:yes or TICKER:no{hint}",
                            reason="bad instrument")
    return ticker, side


def split_symbol(symbol: str) -> tuple[str, str]:
    """``"KXFED-25DEC-T4.00:yes"`` -> (ticker, "yes"); a leg is required (orders, positions)."""
    ticker, side = parse_symbol(symbol)
    if side is None:
        raise RejectedError(f"kalshi: {symbol!r} is a market; orders trade a leg: {ticker}:yes or {ticker}:no",
                            reason="bad instrument")
    return ticker, side


def instruments(market: Mapping[str, Any]) -> list[Instrument]:
    """Both legs of one market (tick 1 cent, lot 1 contract), and the market itself (its book)."""
    ticker = str(market["ticker"])
    legs = [
        Instrument(symbol=f"{ticker}:{side}", tick_size=Decimal(1), lot_size=Decimal(1), min_size=Decimal(1),
                   kind="binary", venue_symbol=ticker, base=f"{ticker}:{side}", quote=QUOTE,
                   maker_fee=MAKER_FEE, taker_fee=TAKER_FEE)
        for side in SIDES
    ]
    return [*legs, Instrument(symbol=ticker, tick_size=Decimal(1), lot_size=Decimal(1), min_size=Decimal(1),
                              kind="binary_market", venue_symbol=ticker, base=ticker, quote=QUOTE)]


def _num(x: Any) -> Decimal:
    d = Decimal(str(x))
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


def cents(dollars: Any, legacy_cents: Any = None) -> Decimal | None:
    if dollars not in (None, ""):
        return _num(Decimal(str(dollars)) * HUNDRED)
    return _num(legacy_cents) if legacy_cents is not None else None


def count(fp: Any, legacy: Any = None) -> Decimal:
    if fp not in (None, ""):
        return _num(fp)
    return _num(legacy) if legacy is not None else ZERO


def timestamp(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def book(symbol: str, payload: Mapping[str, Any], depth: int, now: float,
         settled: Mapping[str, float] | None = None) -> BookSnapshot:
    """Bids of ``symbol``'s side best first; asks are 100 minus the other side's bids. The
    market (a bare ticker) is its YES side with both books in ``extra``, the keys a binary
    market event carries everywhere (``runner.kinds.binary``), plus its settlement if any."""
    _, side = parse_symbol(symbol)
    levels = _levels(payload)
    if side is None:
        yes, no = levels["yes"], levels["no"]
        x = {"yes_bid": yes[0][0] if yes else 0.0, "yes_bid_size": yes[0][1] if yes else 0.0,
             "no_bid": no[0][0] if no else 0.0, "no_bid_size": no[0][1] if no else 0.0,
             "yes_ask": 100.0 - no[0][0] if no else 100.0, "no_ask": 100.0 - yes[0][0] if yes else 100.0}
        x.update(settled or {})
        asks = sorted((100.0 - p, n) for p, n in no)
        return BookSnapshot(symbol, now, yes[:depth], asks[:depth], extra=x)
    other = "no" if side == "yes" else "yes"
    asks = sorted((100.0 - p, n) for p, n in levels[other])
    return BookSnapshot(symbol, now, levels[side][:depth], asks[:depth])


def _levels(payload: Mapping[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """Bids per side in cents, best first, from either book shape."""
    levels: dict[str, list[tuple[float, float]]] = {}
    fp = payload.get("orderbook_fp")
    legacy = payload.get("orderbook") or {}
    for s in SIDES:
        if fp is not None:
            rows = [(float(Decimal(p) * HUNDRED), float(n)) for p, n in fp.get(f"{s}_dollars") or []]
        elif legacy.get(f"{s}_dollars") is not None and legacy.get(s) is None:
            rows = [(float(Decimal(str(p)) * HUNDRED), float(n)) for p, n in legacy[f"{s}_dollars"]]
        else:
            rows = [(float(p), float(n)) for p, n in legacy.get(s) or []]
        levels[s] = sorted(rows, reverse=True)
    return levels


STATUS = {"resting": OrderStatus.NEW, "pending": OrderStatus.NEW, "canceled": OrderStatus.CANCELLED,
          "executed": OrderStatus.FILLED}


def order_report(o: Mapping[str, Any]) -> OrderReport:
    side = str(o.get("side") or o.get("outcome_side"))
    action = str(o.get("action") or "buy")
    filled = count(o.get("fill_count_fp"), o.get("fill_count"))
    remaining = count(o.get("remaining_count_fp"), o.get("remaining_count"))
    initial = count(o.get("initial_count_fp"), o.get("initial_count")) or filled + remaining
    cost = sum((Decimal(str(o.get(k) or 0)) for k in ("taker_fill_cost_dollars", "maker_fill_cost_dollars")),
               ZERO)
    status = STATUS.get(str(o.get("status")), OrderStatus.NEW)
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    return OrderReport(
        client_order_id=str(o.get("client_order_id") or ""), instrument=f"{o['ticker']}:{side}",
        side=Side(action), qty=initial, status=status, filled_qty=filled,
        price=cents(o.get(f"{side}_price_dollars"), o.get(f"{side}_price")),
        avg_fill_price=_num(cost * HUNDRED / filled) if filled and cost else None,
        venue_order_id=str(o["order_id"]), ts=timestamp(o.get("last_update_time") or o.get("created_time")),
    )


def fill_report(f: Mapping[str, Any], client_order_id: str | None) -> FillReport:
    side = str(f.get("side") or f.get("outcome_side"))
    ticker = f.get("ticker") or f.get("market_ticker")
    return FillReport(
        fill_id=str(f.get("fill_id") or f["trade_id"]), client_order_id=client_order_id,
        instrument=f"{ticker}:{side}", side=Side(str(f.get("action") or "buy")),
        qty=count(f.get("count_fp"), f.get("count")),
        price=cents(f.get(f"{side}_price_dollars"), f.get(f"{side}_price")) or ZERO,
        fee=cents(f.get("fee_cost")) or ZERO, ts=fill_time(f),
        liquidity="taker" if f.get("is_taker") else "maker", venue_order_id=str(f.get("order_id")),
        fee_currency=QUOTE,
    )


def fill_time(f: Mapping[str, Any]) -> datetime:
    return timestamp(f.get("created_time")) or timestamp(f.get("ts")) or datetime.fromtimestamp(0, UTC)


def position_reports(mp: Mapping[str, Any]) -> list[PositionReport]:
    """``position_fp`` > 0 holds YES contracts, < 0 NO contracts: a long position either way."""
    n = count(mp.get("position_fp"), mp.get("position"))
    if n == 0:
        return []
    side = "yes" if n > 0 else "no"
    exposure = cents(mp.get("market_exposure_dollars"), mp.get("market_exposure"))
    avg = _num(exposure / abs(n)) if exposure else None
    return [PositionReport(f"{mp['ticker']}:{side}", abs(n), avg)]


Settlement = SettlementReport  # the venue interface's record, read from ``/portfolio/settlements``


def settlement_facts(s: Settlement) -> dict[str, float]:
    """A settlement as the market-event facts the engine books (``runner.engine.cashflows``):
    the winning leg pays 100c. A void (refund) is left to the operator: no facts."""
    if s.result not in SIDES or s.settled is None:
        return {}
    ts = s.settled.timestamp()
    return {"settled_id": ts, "settled_ts": ts, "settled_yes": 100.0 if s.result == "yes" else 0.0}


SETTLED = ("settled", "finalized")  # paid out ("determined" is decided, not yet paid)


def market_result_facts(market: Mapping[str, Any]) -> dict[str, float]:
    """A settled market's own ``result``, as settlement facts, for positions no settlement
    record covers (Kalshi nets a YES+NO pair to nothing, so it may record none)."""
    result = str(market.get("result") or "")
    when = timestamp(market.get("settlement_ts") or market.get("close_time"))
    if str(market.get("status")) not in SETTLED or result not in SIDES or when is None:
        return {}
    ts = when.timestamp()
    return {"settled_id": ts, "settled_ts": ts, "settled_yes": 100.0 if result == "yes" else 0.0}


def settlement(s: Mapping[str, Any]) -> Settlement:
    return Settlement(
        ticker=str(s["ticker"]), result=str(s.get("market_result")),
        yes_count=count(s.get("yes_count_fp"), s.get("yes_count")),
        no_count=count(s.get("no_count_fp"), s.get("no_count")),
        revenue=_num(s.get("revenue") or 0), fee=cents(s.get("fee_cost")) or ZERO,
        settled=timestamp(s.get("settled_time")),
    )


def candles(payload: Mapping[str, Any], side: str, timeframe_s: int) -> list[Candle]:
    """``GET /series/{s}/markets/{t}/candlesticks`` as bars of one leg's mid, in cents.

    Each candlestick closes at ``end_period_ts`` and carries OHLC of the YES bid and ask; the
    NO leg's mid is 100 minus the YES mid. A period without both quotes gives no bar."""
    out = []
    for c in payload.get("candlesticks") or []:
        bid, ask = c.get("yes_bid") or {}, c.get("yes_ask") or {}
        mids = {}
        for f in ("open", "high", "low", "close"):
            b, a = cents(bid.get(f"{f}_dollars"), bid.get(f)), cents(ask.get(f"{f}_dollars"), ask.get(f))
            if b is None or a is None:
                break
            mid = float(b + a) / 2.0
            mids[f] = mid if side == "yes" else 100.0 - mid
        if len(mids) < 4:
            continue
        hi, lo = (mids["high"], mids["low"]) if side == "yes" else (mids["low"], mids["high"])
        out.append(Candle(float(c["end_period_ts"]) - timeframe_s, mids["open"], hi, lo, mids["close"],
                          float(count(c.get("volume_fp"), c.get("volume")))))
    return out
