"""What a strategy kind is: pure logic, market state in, intents and skip reasons out.

A strategy never sees a venue, the ledger or a clock of its own: the engine hands it each
market event and its own positions (dust hidden) and carries out what it returns.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class KindParams(BaseModel):
    """Base of every kind's ``params`` schema: frozen and strict, numbers finite."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


NO_EXTRA: Mapping[str, float] = MappingProxyType({})  # shared by events without extras (no dict per bar)


REPAIR = "pair_repair"  # tops up the short leg of an open group: adds exposure, joins that group


@dataclass(slots=True)
class MarketEvent:
    """One market update for one instrument. Floats: this feeds signal math only."""

    ts: float  # epoch seconds
    instrument: str
    bid: float
    ask: float
    bid_sizes: Sequence[float] = ()
    ask_sizes: Sequence[float] = ()
    volume: float = 0.0
    extra: Mapping[str, float] = field(default_factory=dict)
    open: float = 0.0  # a bar's open (0: not a bar); a backtest fills the orders of the bar before at it
    bid_prices: Sequence[float] = ()  # the price of each level of ``bid_sizes`` (books)
    ask_prices: Sequence[float] = ()

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) * 0.5


@dataclass(frozen=True, slots=True)
class PositionView:
    qty: float = 0.0  # signed; 0 when the position is dust
    avg_price: float = 0.0
    opened_ts: float | None = None


FLAT = PositionView()


@dataclass(frozen=True, slots=True)
class Intent:
    """An order the strategy wants. ``qty=None`` with ``close=True`` means the whole position."""

    instrument: str
    side: str  # buy | sell
    purpose: str  # entry | exit | stop_loss | time_stop | quote
    qty: float | None = None
    price: float | None = None  # None: the execution style prices it
    close: bool = False
    urgent: bool = False  # route as taker even under a maker style
    group: str | None = None

    @property
    def is_entry(self) -> bool:
        return self.purpose in ("entry", "quote", REPAIR) and not self.close


Decision = list[Intent] | str  # intents, or the reason it did not act


@dataclass(frozen=True)
class GroupTolerance:
    """``repair_s``: venue seconds after a group's last fill during which it may be unbalanced
    (the kind is topping it up or unwinding); ``mismatch``: the fraction of the larger leg by
    which the legs may differ for good (the kind itself calls that balanced)."""

    repair_s: float = 0.0
    mismatch: float = 0.0


NO_TOLERANCE = GroupTolerance()


class Strategy(abc.ABC):
    """Subclass, set ``Params``, and register the class under a kind name."""

    Params: ClassVar[type[KindParams]]
    # The market-data streams the kind can use (one event = one closed bar, one quote change or
    # one book change), its default when the variant has no ``data:``, the book depth sampled by
    # default, and the side streams it also consumes (``funding``; ``binary_books`` for binary
    # markets). Windows and "per bar" quantities count events of the chosen stream.
    streams: ClassVar[tuple[str, ...]] = ("bars", "quotes", "books")
    default_stream: ClassVar[str] = "bars:1m"
    default_book_depth: ClassVar[int] = 5
    side_streams: ClassVar[tuple[str, ...]] = ()
    binary: ClassVar[bool] = False  # its books are binary-market books (YES/NO bids, in cents)
    #: venue capabilities (``venues.base.Capabilities`` field names) the kind needs, with why;
    #: ``runner validate`` checks them against the account's adapter before deploying
    NEEDS: ClassVar[Mapping[str, str]] = MappingProxyType({})

    @classmethod
    def instrument_problem(cls, params: KindParams, instruments: Sequence[str]) -> str | None:
        """Why these params cannot run on these instruments (checked when the file is loaded:
        the runner reads only the listed instruments, so a leg named elsewhere never warms)."""
        return None

    @classmethod
    def group_tolerance(cls, params: KindParams) -> GroupTolerance:
        """How far a multi-leg group of this kind may be unbalanced while the kind is still
        repairing it (the groups audit warns, not breaches, inside it): a kind that legs into a
        pair and tops up or unwinds later declares its own window, in venue seconds."""
        return NO_TOLERANCE

    def __init__(self, params: KindParams, instruments: Sequence[str]) -> None:
        self.params = params
        self.instruments = list(instruments)
        self.flags: dict[str, int] = {}

    def flag(self, name: str) -> None:
        """Note a condition worth auditing even though the strategy still acted (e.g. a clamp)."""
        self.flags[name] = self.flags.get(name, 0) + 1

    def take_flags(self) -> dict[str, int]:
        out, self.flags = self.flags, {}
        return out

    @property
    def history_needed(self) -> int:
        """Events of its stream it needs before it can decide (pre-seeded from venue history)."""
        return 0

    @property
    @abc.abstractmethod
    def warm(self) -> bool:
        """True once the strategy has the history it needs to decide."""

    @abc.abstractmethod
    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision: ...
