"""Trading sessions: entries only inside the declared windows (exits run at any time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from runner.spec.variant import SessionWindow

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def in_window(w: SessionWindow, ts: float) -> bool:
    local = datetime.fromtimestamp(ts, ZoneInfo(w.tz))
    if _DAYS[local.weekday()] not in w.days:
        return False
    hhmm = local.strftime("%H:%M")
    return w.start <= hhmm < w.end if w.start <= w.end else (hhmm >= w.start or hhmm < w.end)


def session_checker(windows: list[SessionWindow] | None) -> Callable[[float], bool] | None:
    if not windows:
        return None
    return lambda ts: any(in_window(w, ts) for w in windows)
