"""Is a runner running? Judged from the ledger's heartbeats, and on this host from the pid too.

A variant's state in the ledger says what the runner *would* do; nobody does it when no runner
is alive. `status` must say so rather than show `active` for a dead deployment.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from runner.audit.thresholds import HEARTBEAT_STALE_S

# The runtime beats once a second; a loaded 2-core machine can stall it for a few seconds. The
# limit is the audits' and the agent's (one source), so `status` and `ask` never disagree.
STALE_S = HEARTBEAT_STALE_S


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:  # a reused pid is not our runner
            return b"runner" in f.read()
    except OSError:
        return True


def runner_liveness(beats: list[Any], now: datetime | None = None, host: str | None = None) -> dict[str, Any]:
    """The freshest runner: ``state`` is running, unresponsive (its process lives, its heartbeat is
    stale) or stopped; with host, pid and the heartbeat's age in seconds."""
    now = now or datetime.now(UTC)
    host = host or socket.gethostname()
    if not beats:
        return {"state": "stopped", "host": None, "pid": None, "heartbeat_age_s": None, "runner_id": None}

    def age(b: Any) -> float:
        ts = b.ts if b.ts.tzinfo else b.ts.replace(tzinfo=UTC)
        return (now - ts).total_seconds()

    b = min(beats, key=age)
    a = age(b)
    local = b.host == host
    alive = _pid_alive(b.pid) if local else True
    if not alive:
        state = "stopped"
    elif a <= STALE_S:
        state = "running"
    else:
        state = "unresponsive" if local else "stopped"
    return {"state": state, "host": b.host, "pid": b.pid, "heartbeat_age_s": round(max(a, 0.0), 1),
            "runner_id": b.runner_id}


def describe(r: dict[str, Any]) -> str:
    """One line for the text output."""
    if r["host"] is None:
        return "runner: stopped (no runner has ever run on this ledger)"
    where = f"{r['host']} pid {r['pid']}, heartbeat {_age(r['heartbeat_age_s'])} ago"
    if r["state"] == "running":
        return f"runner: running on {where}"
    if r["state"] == "unresponsive":
        return f"runner: UNRESPONSIVE on {where}; variants are not being run"
    return f"runner: STOPPED (last seen on {where}); variants are not being run"


def _age(s: float) -> str:
    if s < 120:
        return f"{s:.1f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.1f}h" if s < 172800 else f"{s / 86400:.0f}d"


def has_deployment(home: Any) -> bool:
    """A deployment directory holds at least one of what `runner run` creates or reads."""
    return home.is_dir() and any((home / n).exists() for n in ("strategies.d", "state", "venues.yaml",
                                                               "runner.yaml"))
