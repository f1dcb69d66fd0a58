"""Reconcile: adopt venue fills the ledger missed, report what cannot be explained.

A venue fill is adopted when its client order id belongs to an order the ledger recorded
(the order row is written before sending, so every fill of ours has one); it is applied
under the same fill key the runner uses, so adopting is idempotent and a later read by a
running runner changes nothing. A fill of an unknown order is reported, never booked.
Reconcile never sends, cancels or amends an order.

The running runner's scheduled reconcile is incremental: it reads the venue's fills from its
own cursor (``reconcile`` in the cursors table) onwards, so a cycle costs a page or two of
requests, not the account's whole fill history (which on a real venue would spend the
request budget and stall trading). ``runner reconcile`` from the command line reads it all.
A finding such a cycle could not see again (a fill before its cursor, an account it could not
read) stays open until a reading shows it gone (``runner.audit.carry``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.audit import store
from runner.audit.carry import carried
from runner.audit.confirm import confirm, needs_second_reading
from runner.audit.findings import Finding, Severity
from runner.audit.inputs import LedgerData, adapter_factory, gather_venues, late_orders, read_ledger
from runner.audit.venue_checks import ledger_vs_venue, orphan_orders
from runner.errors import BudgetError, RunnerError
from runner.ledger.models import MAIN_RUN
from runner.ledger.store import Ledger, NewFill
from runner.spec.deployment_config import VenuesConfig
from venues.base import FillReport, VenueAdapter

CHECKS = ("reconcile", "ledger_vs_venue", "orphan_orders")
CURSOR = "reconcile"  # the scheduled reconcile's own place in each account's fill history
MAX_PAGES = 100


@dataclass
class ReconcileResult:
    adopted: list[NewFill] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    carried: list[Finding] = field(default_factory=list)  # open, not read again this cycle: kept open

    def seen_now(self) -> list[Finding]:
        """What this cycle read (carried findings were acted on when they were read)."""
        keys = {f.key for f in self.carried}
        return [f for f in self.findings if f.key not in keys]

    def as_json(self) -> dict[str, object]:
        return {
            "adopted": [{"fill_id": f.fill_key, "variant": f.variant, "instrument": f.instrument, "side": f.side,
                         "qty": f.qty, "price": f.price, "fee": f.fee, "ts": f.ts, "order_id": f.client_order_id}
                        for f in self.adopted],
            "findings": [finding_json(f) for f in self.findings],
        }


def finding_json(f: Finding) -> dict[str, object]:
    return {"check": f.check, "severity": f.severity.value, "variant": f.variant, "evidence": store.jsonable(f.evidence),
            "runbook": f.runbook, "summary": f.summary}


def adopt(led: LedgerData, account: str, fills: Iterable[FillReport]) -> tuple[list[NewFill], list[Finding]]:
    """Pure: which venue fills to book (ours, missing) and which are unexplained."""
    seen = led.fill_keys
    adopt_: list[NewFill] = []
    unexplained: list[Finding] = []
    for f in fills:
        key = f"{account}:{f.fill_id}"
        if key in seen:
            continue
        seen.add(key)
        order = led.orders.get(f.client_order_id or "")
        if order is None:
            unexplained.append(Finding(
                "reconcile", Severity.WARNING, None,
                {"subject": f"fill:{key}", "account": account, "fill_id": f.fill_id,
                 "client_order_id": f.client_order_id, "instrument": f.instrument, "side": f.side.value,
                 "qty": f.qty, "price": f.price, "ts": f.ts},
                "ledger-vs-venue",
                f"{account}: venue fill {f.fill_id} ({f.side.value} {f.qty} {f.instrument}) belongs to no order "
                f"the ledger knows: not booked",
            ))
            continue
        adopt_.append(NewFill(key, f.client_order_id, MAIN_RUN, order.variant, account, f.instrument, f.side.value,
                              f.qty, f.price, f.fee, f.ts, f.liquidity, order.group_id, "adopted"))
    return adopt_, unexplained


def reconcile(ledger: Ledger, venues_config: VenuesConfig, home: Path, *, actor: str = "operator",
              adapters: dict[str, VenueAdapter] | None = None,
              confirm_with: Callable[[list[Finding]], list[Finding]] | None = None,
              incremental: bool = False) -> ReconcileResult:
    """Every account the ledger uses: adopt missed fills, then compare positions and orders.

    A position breach is confirmed by ``confirm_with`` (the runner's schedule: against the
    last cycle) or, without it, by a second reading taken here (``runner.audit.confirm``).
    """
    out = ReconcileResult()
    led = read_ledger(ledger)
    make = adapter_factory(venues_config, home)
    run_id = store.start_run(ledger, CHECKS, actor)
    unread: set[str] = set()  # accounts whose fills or reports this cycle could not read
    for account in sorted(led.accounts()):
        if account not in venues_config.accounts:
            continue  # reported by ledger_vs_venue below
        try:
            ad = adapters[account] if adapters is not None and account in adapters else make(account)
        except Exception as exc:  # noqa: BLE001 - a venue that cannot connect is reported
            out.findings.append(_unreadable(account, exc))
            unread.add(account)
            continue
        if adapters is not None:
            adapters.setdefault(account, ad)
        try:
            start = ledger.cursor(account, CURSOR) if incremental else None
            fills, end = _read_from(ad, start)
        except (RunnerError, OSError) as exc:
            out.findings.append(_unreadable(account, exc))
            unread.add(account)
            continue
        finally:
            if adapters is None:
                ad.close()
        new, unexplained = adopt(led, account, fills)
        out.adopted += ledger.apply_fills(new)
        out.findings += unexplained
        if incremental and end != start:
            ledger.set_cursor(account, end, CURSOR)
    compared, unread_now = _compare(ledger, venues_config, make, adapters)
    if confirm_with is not None:
        compared = confirm_with(compared)
    elif any(needs_second_reading(f) for f in compared):
        second, unread_now = _compare(ledger, venues_config, make, adapters)
        compared = confirm(second, {f.key: f for f in compared})
    found = store.dedupe(out.findings + compared)
    booked = led.fill_keys | {f.fill_key for f in out.adopted}
    out.carried = carried(ledger, CHECKS, found, unread=unread | unread_now, incremental=incremental, booked=booked)
    out.findings = found + out.carried
    store.record(ledger, run_id, CHECKS, out.findings)
    return out


def _compare(ledger: Ledger, venues_config: VenuesConfig, make, adapters) -> tuple[list[Finding], set[str]]:  # type: ignore[no-untyped-def]
    """The comparison's findings, and the accounts it could not read."""
    led = read_ledger(ledger)
    venues = gather_venues(led, venues_config, make, adapters)
    late_orders(ledger, led, venues)
    return ledger_vs_venue(led, venues) + orphan_orders(led, venues), {a for a, vd in venues.items() if vd.error}


def _read_from(ad: VenueAdapter, cursor: str | None) -> tuple[list[FillReport], str | None]:
    """Every fill after ``cursor`` (bounded pages) and the cursor after the last of them."""
    from venues.streams.feed import every_fill_read

    out: list[FillReport] = []
    for _ in range(MAX_PAGES):
        with every_fill_read():  # the audit reads what it needs now, not at the loop's pace
            page = ad.fills(cursor)
        out += page.fills
        if not page.fills or page.cursor == cursor:
            break
        cursor = page.cursor
    return out, cursor


def _unreadable(account: str, exc: BaseException) -> Finding:
    if isinstance(exc, BudgetError):  # our own budget kept the reads for trading: the venue was not asked
        return Finding("reconcile", Severity.INFO, None, {"subject": f"{account}:budget", "error": str(exc)},
                       "audit-check-failed", f"reconcile: {account} not read this cycle: the request budget "
                                             "keeps its reads for trading (the venue was not asked)")
    return Finding("reconcile", Severity.WARNING, None, {"subject": f"{account}:unreadable", "error": str(exc)},
                   "audit-check-failed", f"reconcile: cannot read {account}: {type(exc).__name__}: {exc}")


def has_problem(findings: Sequence[Finding]) -> bool:
    return any(f.severity.rank >= Severity.WARNING.rank for f in findings)
