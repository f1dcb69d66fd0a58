"""An instrument's recent mid from the runner's recordings, for the dashboard's price chart.

The ledger keeps only the last mid per instrument; the recording of the latest session
(``state/recordings/<session>/<account>__<instrument>__*``) has every event the variants
consumed. A file that is too large, half-written or unreadable gives no line (the chart then
draws the fills' prices and says so): a picture never fails a page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

MAX_BYTES = 16 * 1024 * 1024
MAX_POINTS = 1500
REREAD_S = 30.0  # a recording grows all the time: read again at most this often
_cache: dict[tuple[str, str], tuple[float, list[tuple[float, float]]]] = {}
PREFER = ("bars", "quotes", "books", "binary-books")


def thin(ts: Sequence[float], ys: Sequence[float], n: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most about ``n`` points: each bucket keeps its low and its high, so spikes stay visible;
    the first and the last point are always kept (a curve ends where the run ended)."""
    if len(ts) <= n:
        return list(zip(ts, ys, strict=True))
    step = max(1, (2 * len(ts)) // n)
    out: list[tuple[float, float]] = []
    for i in range(0, len(ts), step):
        seg = range(i, min(i + step, len(ts)))
        lo = min(seg, key=ys.__getitem__)
        hi = max(seg, key=ys.__getitem__)
        out += [(ts[j], ys[j]) for j in sorted({lo, hi} | ({0} if i == 0 else set())
                                               | ({len(ts) - 1} if seg[-1] == len(ts) - 1 else set()))]
    return out


def recorded_prices(home: Path, account: str, instrument: str, max_points: int = MAX_POINTS
                    ) -> list[tuple[float, float]]:
    """The mids of the latest session (cached for ``REREAD_S``: pages poll every few seconds)."""
    import time

    key = (str(home / account), instrument)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < REREAD_S:
        return hit[1]
    points = _read(home, account, instrument, max_points)
    if len(_cache) > 256:
        _cache.clear()
    _cache[key] = (time.monotonic(), points)
    return points


def _read(home: Path, account: str, instrument: str, max_points: int) -> list[tuple[float, float]]:
    from runner.marketdata.readers import read_binary_books, read_events
    from runner.marketdata.recorder import latest

    root = home / "state" / "recordings"
    session = latest(root)
    if session is None:
        return []
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", instrument)
    market = re.sub(r"[^A-Za-z0-9._-]+", "_", instrument.rsplit(":", 1)[0])
    files = [p for p in (root / session).iterdir()
             if p.is_file() and (p.name.startswith(f"{account}__{safe}__") or
                                 (p.name.startswith(f"{account}__{market}__") and "binary-books" in p.name))]
    files.sort(key=lambda p: next((i for i, k in enumerate(PREFER) if f"__{k}" in p.name), 9))
    for path in files:
        if path.stat().st_size > MAX_BYTES:
            continue
        ts: list[float] = []
        ys: list[float] = []
        try:
            events = read_binary_books(path) if "binary-books" in path.name else read_events(path, instrument)
            for ev in events:
                if ev.instrument == instrument and ev.bid > 0 and ev.ask > 0:
                    ts.append(ev.ts)
                    ys.append((ev.bid + ev.ask) / 2)
        except Exception:  # noqa: BLE001 - a file being written or cut short: use what was read
            pass
        if ts:
            return thin(ts, ys, max_points)
    return []
