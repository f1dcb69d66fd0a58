"""strategy_flags: what a strategy noted while still trading (the Apr 24 quote drift).

A kind records a flag as a ``flag_*`` skip reason (e.g. ``flag_reference_drift`` when its
reference price left the live market, ``flag_quote_clamped`` when a quote had to be pulled
back inside the venue's band). Recent flags are findings, so a drifting maker is seen even
though none of its quotes was refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, timedelta

from runner.audit.findings import Finding, Severity
from runner.audit.inputs import LedgerData, VenueData

RECENT = timedelta(hours=1)
RUNBOOK = {
    "flag_reference_drift": "quote-drift-out-of-band",
    "flag_quote_clamped": "quote-drift-out-of-band",
    "flag_pair_unwound": "unbalanced-pair",
    "flag_pair_repaired": "unbalanced-pair",
}


def strategy_flags(led: LedgerData, _venues: Mapping[str, VenueData]) -> list[Finding]:
    out = []
    for variant, flags in sorted(led.flags.items()):
        if variant not in led.deployments:
            continue
        for flag, (count, last) in sorted(flags.items()):
            last = last if last.tzinfo else last.replace(tzinfo=UTC)
            if led.now - last > RECENT:
                continue
            what = flag.removeprefix("flag_").replace("_", " ")
            out.append(Finding(
                "strategy_flags", Severity.WARNING, variant,
                {"subject": flag, "count": count, "last": last.isoformat()},
                RUNBOOK.get(flag, "status-matrix"),
                f"{variant}: {what} ({count} times, last at {last:%H:%M:%S} UTC)",
            ))
    return out
