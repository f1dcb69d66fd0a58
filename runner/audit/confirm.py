"""Second readings: a venue-vs-ledger breach is critical only when a later reading agrees.

Reading the venue and the ledger can never be one atomic act: a fill landing between the two
reads looks like a breach for one reading. So a breach that compares the venue with the ledger
is ``pending`` on its first reading; a second reading, taken after the fill feed caught up,
confirms it (the same subject, off in the same direction by at least as much: ``critical``;
a drift that keeps growing is confirmed too) or contradicts it (gone, shrunk or reversed: it
stays ``pending`` at most). Ledger-only checks read one snapshot and need no second reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from runner.audit.findings import Finding, Severity

SIGNATURE_KEYS = ("difference", "unexplained")  # the size of the breach, signed


def needs_second_reading(f: Finding) -> bool:
    if f.check == "freshness" and str(f.evidence.get("subject", "")).startswith("stream:"):
        return f.severity is Severity.WARNING  # a stream down: one reading may catch a reconnect
    return f.severity is Severity.CRITICAL and (
        f.check == "ledger_vs_venue" or (f.check == "retired_flat" and f.evidence.get("source") == "venue"))


def signature(f: Finding) -> float | None:
    for k in SIGNATURE_KEYS:
        if f.evidence.get(k) is not None:
            return float(f.evidence[k])  # stored evidence is JSON (floats): compare as such
    return None


def _persists(before: float | None, now: float | None) -> bool:
    if before is None or now is None:
        return before == now
    return (before > 0) == (now > 0) and abs(now) >= abs(before)


def confirm(findings: Iterable[Finding], previous: Mapping[str, Finding]) -> list[Finding]:
    """``findings`` of this reading, with every breach that ``previous`` (the earlier reading,
    by key) does not show persisting downgraded to ``pending``."""
    out = []
    for f in findings:
        if not needs_second_reading(f):
            out.append(f)
            continue
        before = previous.get(f.key)
        if before is not None and before.severity in (Severity.PENDING, Severity.CRITICAL) \
                and _persists(signature(before), signature(f)):
            out.append(replace(f, evidence={**f.evidence, "confirmation": "confirmed on a second reading"}))
        else:
            out.append(replace(f, severity=Severity.PENDING,
                               evidence={**f.evidence, "confirmation": "first reading: waits for a second one"},
                               summary=f"unconfirmed: {f.summary}"))
    return out
