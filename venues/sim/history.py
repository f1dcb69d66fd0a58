"""The sim's market history: the mid of every step, so it can answer candle requests.

Steps are recorded as the market advances (the last ``KEEP`` per instrument). A fresh market
gets a pre-history: an OU path run from the current mid and laid out backwards in time (the
process is time-reversible in its stationary state), so it ends exactly where the market
starts and a variant that needs W bars is warm on its first live bar.
"""

from __future__ import annotations

import sqlite3

from venues.base import Candle
from venues.sim.config import SimInstrument
from venues.sim.market import next_mid, step_rng

KEEP = 20_000  # steps kept per instrument
PRE_STEPS = 2_000  # pre-history of a fresh market

SCHEMA = """
CREATE TABLE IF NOT EXISTS history (instrument TEXT NOT NULL, step INTEGER NOT NULL, ts REAL NOT NULL,
    mid REAL NOT NULL, PRIMARY KEY (instrument, step));
"""


def ensure(db: sqlite3.Connection, seed: int, sym: str, ic: SimInstrument, step: int, mid: float, ts: float,
           step_s: float) -> None:
    """Give ``sym`` its pre-history if it has none; ``step_s``: venue seconds per step."""
    if db.execute("SELECT 1 FROM history WHERE instrument=? LIMIT 1", (sym,)).fetchone():
        return
    rows, x = [], mid
    for k in range(1, PRE_STEPS + 1):  # backwards from the current step
        x = next_mid(ic, x, step_rng(seed, f"{sym}#pre", k))
        rows.append((sym, step - k, ts - k * step_s, x))
    rows.append((sym, step, ts, mid))
    db.executemany("INSERT OR IGNORE INTO history VALUES (?,?,?,?)", rows)


def record(db: sqlite3.Connection, sym: str, step: int, ts: float, mid: float) -> None:
    db.execute("INSERT OR REPLACE INTO history VALUES (?,?,?,?)", (sym, step, ts, mid))
    if step % 1000 == 0:
        db.execute("DELETE FROM history WHERE instrument=? AND step < ?", (sym, step - KEEP))


def candles(db: sqlite3.Connection, sym: str, timeframe_s: int, limit: int, now: float) -> list[Candle]:
    """The latest ``limit`` closed bars (their end at or before ``now``), oldest first."""
    start = (now // timeframe_s - limit) * timeframe_s
    rows = db.execute("SELECT ts, mid FROM history WHERE instrument=? AND ts >= ? AND ts < ? ORDER BY step",
                      (sym, start, now // timeframe_s * timeframe_s)).fetchall()
    out: list[Candle] = []
    cur: list[float] | None = None
    for ts, mid in rows:
        t0 = ts // timeframe_s * timeframe_s
        if cur is None or t0 != cur[0]:
            if cur is not None:
                out.append(Candle(*cur))
            cur = [t0, mid, mid, mid, mid, 0.0]
        else:
            cur[2], cur[3], cur[4] = max(cur[2], mid), min(cur[3], mid), mid
    if cur is not None:
        out.append(Candle(*cur))
    return out[-limit:]
