"""imbalance_scalper: fade top-of-book size imbalance.

imbalance = (bid_size - ask_size) / (bid_size + ask_size) at the top of the book. A heavy
offer (imbalance < -threshold) is faded by buying at the bid; a heavy bid (> threshold) by
selling at the ask. One position per symbol, sized to ``dollar_cap``; exit once the
imbalance is back inside ``exit_threshold`` or after ``max_hold``; flat by session close
(``session_close``, UTC ``HH:MM``: no entries and forced exits in the last ``flatten_before``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import Field, model_validator

from runner.kinds.base import FLAT, Decision, Intent, KindParams, MarketEvent, PositionView, Strategy
from runner.kinds.units import Duration


class ImbalanceScalperParams(KindParams):
    threshold: float = Field(0.6, gt=0, lt=1)
    exit_threshold: float = Field(0.1, ge=0, lt=1)
    dollar_cap: Decimal = Field(Decimal(1000), gt=0, description="quote currency per symbol")
    max_hold: Duration = Field(300.0, gt=0)
    session_close: str | None = Field(None, pattern=r"^\d{2}:\d{2}$", description="UTC HH:MM")
    flatten_before: Duration = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _exit_inside(self) -> ImbalanceScalperParams:
        if self.exit_threshold >= self.threshold:
            raise ValueError(f"exit_threshold ({self.exit_threshold}) must be below threshold ({self.threshold})")
        return self


def top_imbalance(bid_sizes: Sequence[float], ask_sizes: Sequence[float]) -> float | None:
    if not bid_sizes or not ask_sizes:
        return None
    b, a = bid_sizes[0], ask_sizes[0]
    return (b - a) / (b + a) if b + a > 0 else None


def near_close(ts: float, close: str | None, before_s: float) -> bool:
    """True inside the last ``before_s`` seconds before ``close`` (UTC time of day)."""
    if close is None:
        return False
    hh, mm = close.split(":")
    close_s = int(hh) * 3600 + int(mm) * 60
    now_s = ts % 86400.0
    left = (close_s - now_s) % 86400.0
    return left <= before_s


class ImbalanceScalper(Strategy):
    Params = ImbalanceScalperParams
    streams = ("quotes", "books")  # top-of-book sizes on every change; a bar has none
    default_stream = "books"

    def __init__(self, params: ImbalanceScalperParams, instruments: Sequence[str]) -> None:
        super().__init__(params, instruments)
        self.p = params

    @property
    def warm(self) -> bool:
        return True

    def on_event(self, ev: MarketEvent, positions: Mapping[str, PositionView]) -> Decision:
        p = self.p
        imb = top_imbalance(ev.bid_sizes, ev.ask_sizes)
        pos = positions.get(ev.instrument, FLAT)
        closing = near_close(ev.ts, p.session_close, p.flatten_before)
        if pos.qty:
            side = "sell" if pos.qty > 0 else "buy"
            if closing:
                return [Intent(ev.instrument, side, "session_close", close=True, urgent=True)]
            if pos.opened_ts is not None and ev.ts - pos.opened_ts >= p.max_hold:
                return [Intent(ev.instrument, side, "time_stop", close=True, urgent=True)]
            if imb is not None and abs(imb) <= p.exit_threshold:
                return [Intent(ev.instrument, side, "exit", close=True)]
            return "holding"
        if imb is None:
            return "no_book"
        if closing:
            return "near_session_close"
        qty = float(p.dollar_cap) / ev.mid
        if imb < -p.threshold:
            return [Intent(ev.instrument, "buy", "entry", qty=qty, price=ev.bid)]
        if imb > p.threshold:
            return [Intent(ev.instrument, "sell", "entry", qty=qty, price=ev.ask)]
        return "no_signal"
