"""The three gates of live trading, decided at every start, every entry and every change of venues.yaml.

`mode: live` in the variant, `live: true` for its account in venues.yaml and `RUNNER_LIVE=1`
in the environment must all hold. A variant whose gates do not hold places no entry; the
runtime pauses it with the missing gate named and keeps managing its open position.
"""

from __future__ import annotations

import os
from pathlib import Path

from runner.spec.deployment_config import VenuesConfig, load_venues
from runner.spec.variant import VariantSpec

REASON = "live_gate"


def missing_gates(spec: VariantSpec, venues: VenuesConfig) -> list[str]:
    """What is missing for ``spec`` to trade live (empty: it may, or it is not live)."""
    if spec.mode != "live":
        return []
    missing = []
    acct = venues.accounts.get(spec.venue)
    if acct is None or not acct.live:
        missing.append(f"`live: true` for account {spec.venue} in venues.yaml")
    if os.environ.get("RUNNER_LIVE") != "1":
        missing.append("RUNNER_LIVE=1 in the environment")
    return missing


def refusal(spec: VariantSpec, venues: VenuesConfig) -> str | None:
    """The operator-facing sentence naming the missing gates, or None when live may trade."""
    missing = missing_gates(spec, venues)
    return "live trading refused: needs " + " and ".join(missing) if missing else None


class VenuesFile:
    """venues.yaml, re-read when it changes (by mtime and size; a stat per check)."""

    def __init__(self, home: Path) -> None:
        self.path = home / "venues.yaml"
        self.stamp = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def changed(self) -> VenuesConfig | None:
        """The new configuration if the file changed since the last call; raises SpecError if it
        changed into something invalid (the caller keeps the old one and reports)."""
        stamp = self._stamp()
        if stamp == self.stamp:
            return None
        self.stamp = stamp
        return load_venues(self.path.parent)
