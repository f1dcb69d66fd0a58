"""Open findings a cycle did not read: kept open, because nothing showed their condition gone.

``store.record`` closes every open finding of the checks that ran and did not report it
again. That is right only when the cycle actually read what the finding is about. Two readings
do not: the scheduled reconcile is incremental (it reads the venue's fills after its own
cursor, so a fill of an order the ledger does not know, reported once, is never read again),
and an account the cycle could not read (the venue failed, or our own request budget kept the
reads for trading) says nothing about its open orders or positions. Such findings are carried
into the cycle's findings unchanged, so they stay open (their ``seen`` count grows) until a
reading confirms the condition gone: the fill booked, or a full read or a readable account
that no longer shows it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from runner.audit import store
from runner.audit.findings import Finding
from runner.ledger.store import Ledger

UNREAD_SUBJECTS = (":unreadable", ":budget")  # the cycle's own word that it could not read an account


def unknown_fill(f: Finding) -> bool:
    """A venue fill of an order the ledger does not know (reconcile's ``fill:`` subject)."""
    return f.check == "reconcile" and str(f.evidence.get("subject", "")).startswith("fill:")


def carried(ledger: Ledger, checks: Collection[str], found: Iterable[Finding], *, unread: Collection[str],
            incremental: bool, booked: Collection[str]) -> list[Finding]:
    """Open findings of ``checks`` this cycle did not see again and could not have seen:
    of an account in ``unread``, or (``incremental``) a fill not read again and not yet
    ``booked`` (fill keys now in the ledger). Severity and evidence are as last recorded."""
    seen = {f.key for f in found}
    out = []
    for row in store.open_findings(ledger):
        if row.check not in checks or row.key in seen:
            continue
        f = store.row_to_finding(row)
        subject = str(f.evidence.get("subject", ""))
        if subject.endswith(UNREAD_SUBJECTS):
            continue  # the account was read now (or says so again itself)
        account = f.evidence.get("account")
        if unknown_fill(f):
            if subject[len("fill:"):] in booked:
                continue  # booked since: the ledger knows it now
            if incremental or account in unread:
                out.append(f)
        elif account in unread:
            out.append(f)
    return out
