"""``data:`` of a variant: which market-data stream one strategy event is, in every mode.

A window of 60 means 60 events of this stream in a backtest, a replay, paper and live alike:
``bars: 1m`` (closed one-minute bars, each handed over once, at its close), or ``quotes`` /
``books`` (one event per change of the top of book / of the book). Each kind declares the
streams it can use and its default (``Strategy.streams``, ``Strategy.default_stream``); a file
without ``data:`` gets the kind's default, and :func:`effective_data` is the one place that
applies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TIMEFRAME = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_TF_S, MAX_TF_S = 1, 86400
PRIMARY = ("bars", "quotes", "books")


def timeframe_seconds(text: str) -> int:
    """``"1m"`` -> 60. Raises ValueError outside 1s .. 1d or on a bad shape."""
    m = TIMEFRAME.match(text.strip())
    if not m:
        raise ValueError(f"timeframe must look like 1s, 15s, 1m, 5m, 1h, 4h or 1d, got {text!r}")
    secs = int(m.group(1)) * UNIT_S[m.group(2)]
    if not MIN_TF_S <= secs <= MAX_TF_S:
        raise ValueError(f"timeframe must be from 1s to 1d, got {text!r}")
    return secs


def timeframe_text(secs: int) -> str:
    for unit in ("d", "h", "m"):
        if secs % UNIT_S[unit] == 0:
            return f"{secs // UNIT_S[unit]}{unit}"
    return f"{secs}s"


class DataSpec(BaseModel):
    """The ``data:`` mapping as written: at most one of ``bars`` / ``quotes`` / ``books``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bars: str | None = Field(None, description="closed bars of this timeframe, 1s .. 1d (e.g. 1m)")
    quotes: bool = Field(False, description="one event per change of the top of book")
    books: bool = Field(False, description="one event per change of the order book")
    book_depth: int | None = Field(None, ge=0, le=50, description="book levels sampled with each event (0: none)")
    warmup: Literal["venue", "live"] = Field("venue", description="venue: pre-seed from candle history; live: wait")

    @field_validator("bars", mode="before")
    @classmethod
    def _timeframe(cls, v: object) -> object:
        if v is None:
            return v
        text = str(v)
        timeframe_seconds(text)
        return text

    @model_validator(mode="after")
    def _one_stream(self) -> DataSpec:
        chosen = [n for n in PRIMARY if getattr(self, n)]
        if len(chosen) > 1:
            raise ValueError(f"choose one stream: {' or '.join(chosen)}, not both")
        return self

    @property
    def stream(self) -> str | None:
        return next((n for n in PRIMARY if getattr(self, n)), None)


@dataclass(frozen=True)
class Stream:
    """What a variant consumes, defaults applied: the same object in every mode."""

    kind: str  # bars | quotes | books
    timeframe_s: int | None  # bars only
    book_depth: int
    warmup: str  # venue | live
    defaulted: tuple[str, ...] = ()  # the keys the kind's defaults filled in

    @property
    def label(self) -> str:
        base = f"bars {timeframe_text(self.timeframe_s)}" if self.timeframe_s else self.kind
        return f"{base}, book_depth {self.book_depth}, warmup {self.warmup}"

    def describe(self) -> str:
        """For `runner validate`: what applies, and which of it came from the kind's defaults."""
        return self.label + (f" (kind defaults: {', '.join(self.defaulted)})" if self.defaulted else "")


def parse_default(text: str) -> tuple[str, int | None]:
    """A kind's ``default_stream`` (``"bars:1m"``, ``"quotes"``, ``"books"``) -> (stream, timeframe)."""
    name, _, tf = text.partition(":")
    return name, (timeframe_seconds(tf) if tf else None)


def effective_data(data: DataSpec | None, default_stream: str, default_depth: int) -> Stream:
    """Apply the kind's defaults to what the file says (``data`` None: the file has no ``data:``)."""
    defaulted: list[str] = []
    if data is None or data.stream is None:
        kind, tf = parse_default(default_stream)
        defaulted.append(f"{kind} {timeframe_text(tf)}" if tf else kind)
    else:
        kind = data.stream
        tf = timeframe_seconds(data.bars) if data.bars else None
    if data is None or data.book_depth is None:
        depth = default_depth
        defaulted.append(f"book_depth {depth}")
    else:
        depth = data.book_depth
    warmup = data.warmup if data is not None else "venue"
    if data is None or "warmup" not in data.model_fields_set:
        defaulted.append(f"warmup {warmup}")
    return Stream(kind, tf, depth, warmup, tuple(defaulted))
