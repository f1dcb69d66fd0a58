"""Who may take a lease at once: a holder on this host whose process is provably gone.

A runner id is ``host:pid:nonce``. When its host is ours and no process has its pid, it died
(kill -9, crash) and a restart takes its variants over without waiting for the lease to lapse.
Any doubt (another host, a live pid, an id of another shape) means: wait for the lapse.
"""

from __future__ import annotations

import os
import socket


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def dead_holder(owner: str | None, host: str | None = None) -> str | None:
    """``owner`` if it is a runner of this host whose process no longer exists, else None."""
    if not owner:
        return None
    parts = owner.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    if parts[0] != (host or socket.gethostname()):
        return None
    pid = int(parts[1])
    if pid == os.getpid() or pid_alive(pid):
        return None
    return owner
