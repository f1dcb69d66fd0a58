"""An instrument's recent mid from the runner's recordings, for the dashboard's price chart.

The ledger keeps only the last mid per instrument; the recording of the latest session
(``state/recordings/<session>/<account>__<instrument>__*``) has every event the variants
consumed. A file that is too large, half-written or unreadable gives no line (the chart then
draws the fills' prices and says so): a picture never fails a page.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_BYTES = 32 * 1024 * 1024
PREFER = ("bars", "quotes", "books", "binary-books")


def recorded_prices(home: Path, account: str, instrument: str, max_points: int = 1500
                    ) -> list[tuple[float, float]]:
    from runner.marketdata.readers import read_binary_books, read_events
    from runner.marketdata.recorder import latest
    from runner.viz.report import thin

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
