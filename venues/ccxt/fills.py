"""fills() for ccxt: our trades after an opaque cursor, oldest first, never one twice.

The cursor is ``"<ms>:<id>,<id>"``: the newest trade time seen and the ids seen at exactly
that millisecond. We ask the exchange for trades since that time (inclusive, so nothing at
the boundary is lost) and drop the ids already handed out. OKX answers newest first, 100
at a time, so a full page means older ones are missing: we walk back with ``until``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from venues.base import FillPage, FillReport, Side
from venues.ccxt.precision import dec

if TYPE_CHECKING:
    from venues.ccxt.adapter import CcxtAdapter

MAX_PAGES = 20
#: Where exchanges put our client order id in a raw trade (ccxt does not unify it for trades).
CLIENT_ID_KEYS = ("clOrdId", "clientOrderId", "orderLinkId", "clientOid", "client_order_id")


def parse_cursor(cursor: str | None) -> tuple[int | None, set[str]]:
    if not cursor:
        return None, set()
    ts, _, ids = cursor.partition(":")
    return int(ts), {i for i in ids.split(",") if i}


def make_cursor(ts: int, ids: set[str]) -> str:
    return f"{ts}:{','.join(sorted(ids))}"


def fill_id(trade: dict[str, Any]) -> str:
    """Trade ids are unique per instrument on OKX, so the symbol makes them unique per account."""
    return f"{trade.get('symbol')}:{trade.get('id')}"


#: our instrument kinds -> the market type ccxt (OKX instType) scans fills by
_MARKET_TYPES = {"spot": "spot", "perp": "swap", "future": "future", "option": "option"}


def fill_types(adapter: CcxtAdapter) -> list[str]:
    """The configured types, else every type among the loaded instruments (swaps included)."""
    if adapter.config.fill_types:
        return list(adapter.config.fill_types)
    return sorted({_MARKET_TYPES.get(i.kind, i.kind) for i in adapter.instruments().values()}) or ["spot"]


def collect_fills(adapter: CcxtAdapter, cursor: str | None) -> FillPage:
    since, seen = parse_cursor(cursor)
    limit = adapter.config.fills_page_limit
    trades: dict[str, dict[str, Any]] = {}
    for mtype in fill_types(adapter):
        until: int | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"type": mtype}
            if until is not None:
                params["until"] = until
            page = adapter._call(lambda p=params: adapter.exchange.fetch_my_trades(None, since, None, p))
            fresh = [t for t in page if fill_id(t) not in trades]
            trades.update((fill_id(t), t) for t in fresh)
            if len(page) < limit or not fresh:
                break
            until = min(int(t["timestamp"]) for t in page) + 1
    kept = [
        t for t in trades.values()
        if t.get("symbol") in adapter.instruments()
        and (since is None or t["timestamp"] > since or (t["timestamp"] == since and fill_id(t) not in seen))
    ]
    kept.sort(key=lambda t: (t["timestamp"], fill_id(t)))
    if not kept:
        return FillPage([], cursor)
    last = kept[-1]["timestamp"]
    ids = {fill_id(t) for t in kept if t["timestamp"] == last} | (seen if last == since else set())
    return FillPage([_report(adapter, t) for t in kept], make_cursor(last, ids))


def _report(adapter: CcxtAdapter, t: dict[str, Any]) -> FillReport:
    fee = t.get("fee") or {}
    info = t.get("info") or {}
    cid = next((info[k] for k in CLIENT_ID_KEYS if info.get(k)), None) or t.get("clientOrderId")
    inst = adapter.instrument(t["symbol"])
    price = dec(t["price"]) or Decimal(0)
    cost, ccy = dec(fee.get("cost")) or Decimal(0), fee.get("currency") or inst.quote
    if ccy == inst.base and inst.base != inst.quote:  # taken from the bought asset: count it in the quote
        cost, ccy = cost * price, inst.quote
    return FillReport(
        fill_id=fill_id(t),
        client_order_id=cid or adapter.client_id_of(t.get("order")),
        instrument=t["symbol"],
        side=Side(t["side"]),
        qty=adapter.from_venue_qty(t["symbol"], dec(t["amount"])) or Decimal(0),
        price=price,
        fee=cost,
        ts=datetime.fromtimestamp(t["timestamp"] / 1000, UTC),
        liquidity=t.get("takerOrMaker") or "taker",
        venue_order_id=t.get("order"),
        fee_currency=ccy,
    )
