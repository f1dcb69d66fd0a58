"""Running checks: gather inputs, run each check (a raising check is a finding), store, act.

A breach comparing the venue with the ledger is ``pending`` until a second reading confirms
it (``runner.audit.confirm``). Acting on a confirmed breach (``critical``, error class
``invariant``) quarantines the variants it names as the lifecycle policy says, and alerts;
warnings alert; pending findings do neither. Only the running runner acts; ``runner audit``
reports and records. Nothing here sends an order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runner.audit import store
from runner.audit.alerts import Alerter
from runner.audit.confirm import confirm, needs_second_reading
from runner.audit.findings import Finding, Severity
from runner.audit.freshness import freshness
from runner.audit.inputs import (
    LedgerData,
    Settings,
    VenueData,
    adapter_factory,
    gather_venues,
    late_orders,
    read_ledger,
)
from runner.audit.ledger_checks import cost_sanity, fills_vs_positions, groups_balanced
from runner.audit.strategy_flags import strategy_flags
from runner.audit.venue_checks import ledger_vs_venue, orphan_orders, retired_flat
from runner.errors import BadInputError, RefusedError
from runner.ledger.store import Ledger
from runner.spec.deployment_config import VenuesConfig
from venues.base import VenueAdapter

log = logging.getLogger("runner.audit")

Check = Callable[[LedgerData, Mapping[str, VenueData]], list[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    fn: Check
    needs_venue: bool


CHECKS: dict[str, CheckSpec] = {
    "fills_vs_positions": CheckSpec(fills_vs_positions, False),
    "ledger_vs_venue": CheckSpec(ledger_vs_venue, True),
    "retired_flat": CheckSpec(retired_flat, True),
    "groups_balanced": CheckSpec(groups_balanced, False),
    "cost_sanity": CheckSpec(cost_sanity, False),
    "orphan_orders": CheckSpec(orphan_orders, True),
    "freshness": CheckSpec(freshness, False),
    "strategy_flags": CheckSpec(strategy_flags, False),
}
SETTLE_S = 3.0  # how long a one-shot audit waits for the fill feed before its second reading


def check_names(names: Sequence[str] | None) -> list[str]:
    """The checks to run (all by default); an unknown name is bad input."""
    if not names:
        return list(CHECKS)
    bad = [n for n in names if n not in CHECKS]
    if bad:
        raise BadInputError(f"unknown check {', '.join(bad)} (checks: {', '.join(CHECKS)})")
    return list(dict.fromkeys(names))


def settings_for(home: Path) -> Settings:
    try:
        from runner.spec.deployment_config import load_runner_config

        cfg = load_runner_config(home)
    except BadInputError:
        return Settings()
    return Settings(stale_data_s=cfg.stale_data_s)


def failed(name: str, exc: BaseException) -> Finding:
    return Finding(name, Severity.WARNING, None, {"subject": "check_failed", "error": f"{type(exc).__name__}: {exc}"},
                   "audit-check-failed", f"check {name} could not run: {type(exc).__name__}: {exc}")


def evaluate(names: Sequence[str], led: LedgerData, venues: Mapping[str, VenueData]) -> tuple[list[Finding], list[str]]:
    """Run the pure checks; returns (findings, names of the checks that completed)."""
    out: list[Finding] = []
    done: list[str] = []
    for name in names:
        try:
            out += CHECKS[name].fn(led, venues)
            done.append(name)
        except Exception as exc:  # noqa: BLE001 - a raising check is itself a finding
            log.exception("audit check %s raised", name)
            out.append(failed(name, exc))
    return store.dedupe(out), done


def run_checks(
    ledger: Ledger, venues_config: VenuesConfig, home: Path, names: Sequence[str] | None = None, *,
    actor: str = "operator", alerter: Alerter | None = None, act: bool = True,
    adapters: dict[str, VenueAdapter] | None = None, settings: Settings | None = None,
    previous: Mapping[str, Finding] | None = None,
) -> list[Finding]:
    """Run ``names`` (default: every check) once, store the findings with the run, then act
    (``act``: only the running runner does; ``runner audit`` reports and records).

    ``adapters`` is a cache of connected adapters owned by the caller (the runner's audit
    schedule keeps one); without it, adapters are made for this run and closed after.
    ``previous``: see :func:`evaluate_checks`.
    """
    names = check_names(names)
    run_id = store.start_run(ledger, names, actor)
    findings, done = evaluate_checks(ledger, venues_config, home, names, adapters=adapters, settings=settings,
                                     previous=previous)
    store.record(ledger, run_id, done, findings)
    if act:
        act_on(ledger, findings, alerter or Alerter(ledger), actor)
    return findings


def evaluate_checks(
    ledger: Ledger, venues_config: VenuesConfig, home: Path, names: Sequence[str] | None = None, *,
    adapters: dict[str, VenueAdapter] | None = None, settings: Settings | None = None,
    previous: Mapping[str, Finding] | None = None, settle_s: float = SETTLE_S, now: datetime | None = None,
) -> tuple[list[Finding], list[str]]:
    """The findings of ``names`` (most severe first) and the checks that ran, computed from the
    ledger and the venues without writing anything: a read-only ledger is enough.

    A venue-vs-ledger breach is ``critical`` only when two readings agree. ``previous`` (by
    key) is the earlier reading, e.g. the open findings of the last scheduled cycle; without
    it this call takes both readings itself, the second once the ledger has the venue fills
    the first one saw (at most ``settle_s`` later). ``now``: the time ages are judged at.
    """
    names = check_names(names)
    settings = settings or settings_for(home)
    findings, done, venues = _reading(ledger, venues_config, home, names, adapters, settings, now)
    if previous is None and any(needs_second_reading(f) for f in findings):
        _wait_for_fill_feed(ledger, venues, settle_s)
        first = {f.key: f for f in findings}
        findings, done, _ = _reading(ledger, venues_config, home, names, adapters, settings, now)
        findings = confirm(findings, first)
    else:
        findings = confirm(findings, previous or {})
    return sorted(findings, key=lambda f: (-f.severity.rank, f.check, f.variant or "", f.key)), done


def _reading(ledger: Ledger, venues_config: VenuesConfig, home: Path, names: Sequence[str],
             adapters: dict[str, VenueAdapter] | None, settings: Settings, now: datetime | None = None,
             ) -> tuple[list[Finding], list[str], dict[str, VenueData]]:
    venues: dict[str, VenueData] = {}
    try:
        led = read_ledger(ledger, settings, now)
        if any(CHECKS[n].needs_venue for n in names):
            venues = gather_venues(led, venues_config, adapter_factory(venues_config, home), adapters)
            late_orders(ledger, led, venues)
        findings, done = evaluate(names, led, venues)
    except Exception as exc:  # noqa: BLE001 - reading the inputs failed: every check failed
        log.exception("audit inputs could not be read")
        findings, done = [failed(n, exc) for n in names], []
    return findings, done, venues


def _wait_for_fill_feed(ledger: Ledger, venues: Mapping[str, VenueData], settle_s: float) -> None:
    """Until the ledger holds every fill of ours the venue showed (a runner reads them), or
    ``settle_s``: without a running runner nobody will, and the second reading goes ahead."""
    from sqlalchemy import func, select

    from runner.ledger.store import T_FILLS

    keys = [f"{vd.account}:{f.fill_id}" for vd in venues.values() for f in vd.pending_fills
            if f.client_order_id and ledger.order_row(f.client_order_id) is not None]
    deadline = time.monotonic() + settle_s
    while keys and time.monotonic() < deadline:
        with ledger.engine.connect() as conn:
            have = conn.execute(select(func.count()).where(T_FILLS.c.fill_key.in_(keys))).scalar() or 0
        if have >= len(keys):
            return
        time.sleep(0.1)


def act_on(ledger: Ledger, findings: Sequence[Finding], alerter: Alerter, actor: str) -> list[str]:
    """Quarantine the live variants named by confirmed (critical) findings, as the lifecycle
    policy says for an ``invariant`` error; alert on warnings and criticals, never on pending."""
    from runner.engine.lifecycle_driver import transition
    from runner.errors import ErrorClass, FencedError
    from runner.lifecycle import respond

    moved: list[str] = []
    states = ledger.states()
    for f in findings:
        action = ""
        if f.severity is Severity.CRITICAL:
            targets = [f.variant] if f.variant else list(f.evidence.get("variants") or [])
            for v in targets:
                st = states.get(v)
                trigger = respond(st.state, ErrorClass.INVARIANT).trigger if st is not None else None
                if trigger is None or v in moved:
                    continue
                try:
                    transition(ledger, v, st.state, trigger, "invariant", f"{f.check}: {f.summary}"[:500],  # type: ignore[union-attr]
                               actor)
                except (RefusedError, FencedError) as exc:  # moved first, or our lease is gone
                    log.warning("audit: cannot quarantine %s: %s", v, exc)
                    continue
                moved.append(v)
                action += f"{v} quarantined. "
        alerter.alert(f, action.strip())
    return moved
