"""In-sample and out-of-sample periods of a sweep, and the event filters that cut them.

``--split 0.7``: the first 70% of the data's time span is in sample, the rest out of sample.
``--walk-forward K``: the span cut in K+1 equal parts; fold i is in sample on part i-1 and out
of sample on part i (rolling), so every part but the first is judged once, unseen.

An out-of-sample run starts warm: the strategy's windows are filled from the events just before
the period (as a live start is seeded from the venue's history), so no bar of the period is lost
to warming and no trade of the in-sample part leaks into it. Each period is backtested apart
from ``capital``; walk-forward folds are combined by :func:`combine`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.engine.backtest import merged
from runner.errors import BadInputError
from runner.kinds.base import MarketEvent
from runner.kinds.registry import get_kind
from runner.marketdata.binding import open_streams
from runner.spec.load import LoadedVariant

Clip = Callable[[Iterator[MarketEvent]], Iterator[MarketEvent]]


@dataclass(frozen=True)
class Period:
    sample: str  # "in_sample" | "out_of_sample"
    fold: int
    start: float | None  # first event time included (None: from the beginning)
    end: float | None  # events before this time (None: to the end)

    @property
    def seed_until(self) -> float | None:
        """Events before ``start`` only fill the strategy's windows (a warm start)."""
        return None if self.start is None else math.nextafter(self.start, -math.inf)

    def clip(self, keep: int) -> Clip:
        start, end = self.start, self.end

        def cut(events: Iterator[MarketEvent]) -> Iterator[MarketEvent]:
            if start is not None:
                before: deque[MarketEvent] = deque(maxlen=keep)
                for ev in events:
                    if ev.ts >= start:
                        yield from before
                        if end is not None and ev.ts >= end:
                            return
                        yield ev
                        break
                    before.append(ev)
            for ev in events:
                if end is not None and ev.ts >= end:
                    return
                yield ev

        return cut


def span(loaded: LoadedVariant, data: list[tuple[str, Path]]) -> tuple[float, float, int]:
    """(first, last event time, events): reads the data once, so a bad row stops the sweep before it runs."""
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    first = last = None
    n = 0
    for ev in merged(open_streams(loaded, kind, data)):
        if first is None:
            first = ev.ts
        last = ev.ts
        n += 1
    if first is None or last is None or last <= first:
        raise BadInputError(f"--data {', '.join(str(p) for _, p in data)}: too few events to split "
                            "in and out of sample")
    return first, last, n


def split(first: float, last: float, share: float) -> list[tuple[Period, Period]]:
    cut = first + (last - first) * share
    return [(Period("in_sample", 1, None, cut), Period("out_of_sample", 1, cut, None))]


def walk_forward(first: float, last: float, k: int) -> list[tuple[Period, Period]]:
    step = (last - first) / (k + 1)
    edges = [first + step * i for i in range(k + 2)]
    folds = []
    for i in range(1, k + 1):
        is_start = None if i == 1 else edges[i - 1]
        oos_end = None if i == k else edges[i + 1]
        folds.append((Period("in_sample", i, is_start, edges[i]), Period("out_of_sample", i, edges[i], oos_end)))
    return folds


def combine(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Walk-forward folds as one record: counts and fees summed, returns compounded, the worst
    drawdown, exposure weighted by days, win rate by trades; Sharpe the mean of the folds'
    (None if any fold has none: the gate cannot judge it)."""
    if len(parts) == 1:
        return dict(parts[0])
    trades = sum(int(p["trades"]) for p in parts)
    days = sum(int(p.get("days") or 0) for p in parts)
    growth = 1.0
    for p in parts:
        growth *= 1.0 + float(p["total_return"])
    sharpes = [p.get("sharpe") for p in parts]
    return {
        **{k: v for k, v in parts[-1].items() if k in ("currency", "capital")},
        "total_return": growth - 1.0,
        "sharpe": None if any(s is None for s in sharpes) else sum(sharpes) / len(sharpes),  # type: ignore[arg-type]
        "days": days,
        "max_drawdown": max(float(p["max_drawdown"]) for p in parts),
        "trades": trades,
        "win_rate": sum(float(p["win_rate"]) * int(p["trades"]) for p in parts) / trades if trades else 0.0,
        "fees": sum(float(p["fees"]) for p in parts),
        "funding": sum(float(p.get("funding") or 0.0) for p in parts),
        "exposure": (sum(float(p["exposure"]) * int(p.get("days") or 0) for p in parts) / days) if days else 0.0,
        "open_trades": sum(int(p.get("open_trades") or 0) for p in parts),
        "open_pnl": sum(float(p.get("open_pnl") or 0.0) for p in parts),
        "folds": len(parts),
    }
