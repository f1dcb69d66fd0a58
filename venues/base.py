"""The venue contract: commands in, typed reports out, capabilities as data.

Every adapter (``sim`` included) implements :class:`VenueAdapter`. Quantities and prices in
commands and reports are ``Decimal``; market data (books) are floats because they feed signal
math only. Adapters raise only the classified errors of ``runner.errors``: SDK and HTTP
errors are translated at the adapter boundary.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import PrecisionError

if TYPE_CHECKING:
    from venues.streams.events import StreamEvent
    from venues.streams.feed import AccountFeed


def _power_of_ten(step: Decimal) -> bool:
    """1, 0.1, 0.01, 10...: steps a quantize can floor to exactly."""
    sign, digits, _exp = step.as_tuple()
    return not sign and digits == (1,)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is _BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    POST_ONLY = "post_only"


class OrderStatus(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        # identity, not set membership: an enum's hash is a Python call (asked several times per order)
        return self is _NEW or self is _PARTIALLY_FILLED


_BUY = Side.BUY  # module constants: an enum class attribute lookup costs more than the test itself
_NEW, _PARTIALLY_FILLED = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED  # the open statuses


@dataclass(frozen=True, slots=True)
class Instrument:
    """Precision and fees of one tradable instrument, as the venue states them."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_size: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    kind: str = "spot"  # spot | perp | binary | equity
    venue_symbol: str = ""
    base: str = ""
    quote: str = "USD"
    maker_fee: Decimal = Decimal(0)  # fraction of notional
    taker_fee: Decimal = Decimal(0)
    price_band_pct: Decimal | None = None  # max distance of a limit price from mid, fraction
    # the venue waives min size / notional for a reduce-only order closing the whole position
    # (Hyperliquid's $10 minimum): such a close is never refused locally, and is never dust
    close_waives_minimum: bool = False
    # whether a quantize floors to the lot / tick exactly (asked on every order: computed once)
    _lot_quantizes: bool = field(init=False, repr=False, compare=False)
    _tick_quantizes: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lot_quantizes", _power_of_ten(self.lot_size))
        object.__setattr__(self, "_tick_quantizes", _power_of_ten(self.tick_size))

    def floor_qty(self, qty: Decimal) -> Decimal:
        """Floor to the lot: never round a quantity up."""
        if qty <= 0:
            return Decimal(0)
        if self._lot_quantizes:  # the common case: a quantize is exact and cheaper
            out = qty.quantize(self.lot_size, rounding=ROUND_FLOOR)
            return out.normalize() if out else Decimal(0)
        lots = (qty / self.lot_size).to_integral_value(rounding=ROUND_FLOOR)
        return (lots * self.lot_size).normalize() if lots else Decimal(0)

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round to the tick on the passive side (buys down, sells up)."""
        rounding = ROUND_FLOOR if side is _BUY else ROUND_CEILING
        if self._tick_quantizes:
            return price.quantize(self.tick_size, rounding=rounding)
        ticks = (price / self.tick_size).to_integral_value(rounding=rounding)
        return ticks * self.tick_size

    def is_dust(self, qty: Decimal, price: Decimal) -> bool:
        """Too small to close with one order here (below min size, lot or min notional)."""
        size = abs(qty)
        if size == 0:
            return False
        if self.close_waives_minimum:
            return size < self.lot_size
        return (
            size < self.min_size
            or size < self.lot_size  # floors to zero lots
            or (self.min_notional > 0 and size * price < self.min_notional)
        )

    def check_order(self, qty: Decimal, price: Decimal | None, reduce_only: bool = False) -> None:
        """Refuse locally what the venue cannot take; a zero quantity is never sent. A
        reduce-only order is left to the venue where it waives its minimum for a full close."""
        if qty <= 0:
            raise PrecisionError(f"{self.symbol}: quantity floors to 0 at lot {self.lot_size}")
        if reduce_only and self.close_waives_minimum:
            return
        if qty < self.min_size:
            raise PrecisionError(f"{self.symbol}: quantity {qty} below min size {self.min_size}")
        if price is not None and self.min_notional > 0 and qty * price < self.min_notional:
            raise PrecisionError(
                f"{self.symbol}: notional {qty * price} below min notional {self.min_notional}"
            )


def net_binary_legs(qtys: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Positions as a venue that nets binary legs holds them (Kalshi: a NO contract cancels a
    YES one): ``M:no`` counts negatively into ``M:yes``, so YES 10 + NO 10 is flat and NO 3
    alone is YES -3. Other instruments pass through. Pure: the ledger-vs-venue check applies it
    to both sides before comparing."""
    out: dict[str, Decimal] = {}
    for sym, q in qtys.items():
        market, sep, side = sym.rpartition(":")
        if sep and side == "no":
            key = f"{market}:yes"
            out[key] = out.get(key, Decimal(0)) - q
        else:
            out[sym] = out.get(sym, Decimal(0)) + q
    return out


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an adapter supports, as data: the engine asks, it never branches on a venue name."""

    post_only: bool = True
    ioc: bool = True
    market_orders: bool = True
    reduce_only: bool = False
    cancel_all: bool = False
    price_band: bool = False
    funding: bool = False
    binary_markets: bool = False
    nets_binary_legs: bool = False  # YES and NO of one market net on the venue (Kalshi)
    shorting: bool = True  # a position can go below zero (perps, margin); not on Kalshi legs or Alpaca crypto
    # bar timeframes (seconds) the venue's stream gives as closed candles (Hyperliquid ``candle``,
    # Alpaca's minute bars): a variant on bars of one of these gets the venue's own bars while
    # the account streams; any other timeframe is built from its books
    native_bars: frozenset[int] = frozenset()


# The per-order messages below are plain slotted dataclasses, not frozen ones: they are built
# several times per order on a backtest's hot path, where a frozen __init__ costs ~6x. Treat
# them as values all the same (build a new one; `dataclasses.replace`).
@dataclass(slots=True)
class OrderRequest:
    client_order_id: str
    instrument: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False


@dataclass(slots=True)
class OrderReport:
    client_order_id: str
    instrument: str
    side: Side
    qty: Decimal
    status: OrderStatus
    filled_qty: Decimal = Decimal(0)
    price: Decimal | None = None
    avg_fill_price: Decimal | None = None
    venue_order_id: str | None = None
    reason: str | None = None
    ts: datetime | None = None


@dataclass(slots=True)
class FillReport:
    fill_id: str  # unique per account on the venue (trade id)
    client_order_id: str | None
    instrument: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime
    liquidity: str = "taker"  # maker | taker
    venue_order_id: str | None = None
    fee_currency: str = "USD"


@dataclass(frozen=True, slots=True)
class PositionReport:
    instrument: str
    qty: Decimal  # signed: long > 0
    avg_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CashflowReport:
    """The venue's own record of money that moved outside a trade: funding paid or received,
    a fee taken from an asset (Alpaca's CFEE), a settlement payout. ``amount`` is in
    ``currency`` (received > 0, paid < 0); ``qty`` is the asset quantity it moved, if any."""

    record_id: str  # unique per account
    kind: str  # funding | fee | settlement
    instrument: str
    amount: Decimal
    currency: str
    ts: datetime
    qty: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """A settled binary market as the venue records it (Kalshi ``/portfolio/settlements``, the
    sim's payouts): what the account held of each leg, the result, and what it paid, in the
    legs' quote unit (cents)."""

    ticker: str
    result: str  # yes | no | scalar | void
    yes_count: Decimal
    no_count: Decimal
    revenue: Decimal
    fee: Decimal
    settled: datetime | None


def settlement_cashflows(settlements: Sequence[SettlementReport], since: datetime | None,
                         currency: str) -> list[CashflowReport]:
    """Settlements as cashflow records (payout net of fees), oldest first, after ``since``."""
    out = [CashflowReport(f"settlement:{s.ticker}:{int(s.settled.timestamp())}", "settlement", s.ticker,
                          s.revenue - s.fee, currency, s.settled, s.yes_count - s.no_count)
           for s in settlements if s.settled is not None and (since is None or s.settled > since)]
    return sorted(out, key=lambda c: (c.ts, c.record_id))


@dataclass(frozen=True, slots=True)
class BalanceReport:
    currency: str
    total: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Top N levels, best first. Floats: signal math only, never ledger money."""

    instrument: str
    ts: float  # epoch seconds
    bids: Sequence[tuple[float, float]]
    asks: Sequence[tuple[float, float]]
    volume: float = 0.0  # traded volume since the previous snapshot, if known
    extra: Mapping[str, float] = field(default_factory=dict)  # e.g. funding_rate

    @property
    def mid(self) -> float:
        return (self.bids[0][0] + self.asks[0][0]) / 2.0

    @property
    def gap(self) -> str | None:
        """Why this book cannot be priced (a skip reason), or None when both sides have a level.
        A settled or halted market answers with an empty or one-sided book: not an error."""
        if not self.bids and not self.asks:
            return "empty_book"
        if not self.bids or not self.asks:
            return "one_sided_book"
        return None


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed bar of the venue's history. ``ts`` is the bar's open, epoch seconds."""

    ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


@dataclass(slots=True)
class FillPage:
    fills: list[FillReport]
    cursor: str | None  # opaque; pass back to get what came after


@dataclass(frozen=True)
class AccountConfig:
    """One account of venues.yaml as an adapter sees it. Secrets stay in the environment:
    ``credentials`` maps a setting (apiKey, secret...) to the NAME of an environment variable."""

    name: str
    adapter: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    live: bool = False
    home: Path = Path(".")

    def secret(self, key: str) -> str | None:
        env = self.credentials.get(key)
        return os.environ.get(env) if env else None

    def missing_credentials(self) -> list[str]:
        """Names of the environment variables that are named but not set."""
        return [env for env in self.credentials.values() if not os.environ.get(env)]


class VenueAdapter(abc.ABC):
    """One account on one venue. Implementations live in ``venues/<name>/``."""

    capabilities: Capabilities = Capabilities()
    feed: AccountFeed | None = None  # request budget and stream, where the adapter has them

    def __init__(self, account: str) -> None:
        self.account = account

    @abc.abstractmethod
    def connect(self) -> None:
        """Load instrument metadata (and check credentials where there are any)."""

    @abc.abstractmethod
    def instruments(self) -> Mapping[str, Instrument]: ...

    @abc.abstractmethod
    def submit(self, req: OrderRequest) -> OrderReport:
        """Send one order. Raises Transient/Ambiguous/Rejected errors, never SDK errors."""

    @abc.abstractmethod
    def cancel(self, client_order_id: str, instrument: str) -> OrderReport | None: ...

    @abc.abstractmethod
    def order(self, client_order_id: str, instrument: str) -> OrderReport | None:
        """Look an order up by our client order id; None if the venue never saw it."""

    @abc.abstractmethod
    def open_orders(self) -> list[OrderReport]: ...

    @abc.abstractmethod
    def fills(self, cursor: str | None = None) -> FillPage:
        """Fills after ``cursor`` (all known fills when None), oldest first."""

    @abc.abstractmethod
    def positions(self) -> list[PositionReport]: ...

    @abc.abstractmethod
    def balances(self) -> list[BalanceReport]: ...

    @abc.abstractmethod
    def book(self, instrument: str, depth: int = 20) -> BookSnapshot:
        """Current order book (paper-mode market data)."""

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """The venue's own records of funding, fees and settlements after ``since``, oldest
        first. A venue that keeps none returns none."""
        return []

    def settlements(self, min_ts: int | None = None) -> list[SettlementReport]:
        """Settled binary markets the account held (epoch seconds ``min_ts`` and later),
        newest first. A venue without binary markets has none."""
        return []

    def candles(self, instrument: str, timeframe_s: int, limit: int) -> list[Candle]:
        """The latest ``limit`` CLOSED bars of ``timeframe_s``, oldest first, for warm-up at start.

        A venue without candle history returns none: its variants warm on live bars."""
        return []

    def native_timeframes(self) -> frozenset[int]:
        """The bar timeframes this account takes from the venue's candle stream: the capability,
        while the account streams (without a stream every bar is built from books)."""
        feed = self.feed
        return self.capabilities.native_bars if feed is not None and feed.enabled else frozenset()

    def closed_bars(self, instrument: str, timeframe_s: int, now: float, after: float | None) -> list[Candle] | None:
        """The venue's own closed candles of ``instrument`` since the last call, oldest first, each
        once (``after``: the end of the last bar handed over; ``now``: venue time). None: no
        native candle of this timeframe here, bars are built from books."""
        if self.feed is None or timeframe_s not in self.native_timeframes():
            return None
        return self.feed.closed_bars(instrument, timeframe_s, now, after, self.candles)

    def candle_state(self, instrument: str, timeframe_s: int) -> tuple[bool, str | None]:
        """After :meth:`closed_bars`: whether the candle stream is live (while it is not, the
        runner builds the bars from books) and how the latest candle came ("stream", "rest")."""
        if self.feed is None:
            return False, None
        return self.feed.candle_state(instrument, timeframe_s)

    def cancel_many(self, orders: Sequence[tuple[str, str]]) -> list[OrderReport]:
        """Cancel (client_order_id, instrument) pairs; venues with a batch call override this."""
        out = []
        for cid, inst in orders:
            rep = self.cancel(cid, inst)
            if rep is not None:
                out.append(rep)
        return out

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def catch_up(self) -> list[OrderReport] | None:
        """For a venue that models order latency (the sim, a replay): bring its market up to
        now and hand out the orders whose outcome it decided since the last call, so the
        runtime reads them (and their fills) before the strategy sees the next event, as the
        backtest does. None: outcomes are known at submit (every real venue's answer)."""
        return None

    def steps_due(self) -> int:
        """Trading passes the runtime owes the venue now: one, or for a venue whose market the
        runtime steps (the sim with its latency model) one per step it fell behind, so that no
        step goes unseen (each pass: ``catch_up``, books, fills)."""
        return 1

    def stream_events(self) -> list[StreamEvent]:
        """Gaps, resyncs and reconnects of the account's stream since the last call (drained)."""
        return self.feed.drain_events() if self.feed is not None else []

    def stream_status(self) -> dict[str, Any]:
        """Stream state and request budget use, as plain data (``runner status --json``)."""
        return self.feed.status() if self.feed is not None else {"stream": "off"}

    def is_market_open(self, instrument: str | None = None) -> bool:
        """Whether the venue's session is open for ``instrument`` (equities close; crypto does not).

        Entries outside it are skipped; exits are still attempted."""
        return True

    def symbol_problem(self, symbol: str) -> str | None:
        """What is wrong with ``symbol``'s shape on this venue, if anything (no network): what
        ``runner validate`` can say when the instrument list cannot be reached."""
        return None

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments()[symbol]
        except KeyError:
            from runner.errors import RejectedError

            raise RejectedError(f"unknown instrument {symbol!r} on {self.account}") from None

    def prepare(self, req: OrderRequest) -> OrderRequest:
        """Apply the venue's precision: floor qty to the lot, price to the passive tick."""
        inst = self.instrument(req.instrument)
        qty = inst.floor_qty(req.qty)
        price = inst.round_price(req.price, req.side) if req.price is not None else None
        inst.check_order(qty, price, req.reduce_only)
        if qty == req.qty and price == req.price:
            return req
        return OrderRequest(
            req.client_order_id, req.instrument, req.side, qty, req.order_type, price, req.tif,
            req.reduce_only,
        )
