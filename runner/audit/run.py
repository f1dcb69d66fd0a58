"""Running checks: gather inputs, run each check (a raising check is a finding), store, act.

Acting on an ``invariant`` breach (a critical finding) quarantines the variants it names
through the lifecycle table and alerts; warnings alert; nothing here sends an order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.audit import store
from runner.audit.alerts import Alerter
from runner.audit.findings import Finding, Severity
from runner.audit.freshness import freshness
from runner.audit.inputs import LedgerData, Settings, VenueData, adapter_factory, gather_venues, read_ledger
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
QUARANTINABLE = ("active", "paused", "backoff")


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
) -> list[Finding]:
    """Run ``names`` (default: every check) once, store the findings with the run, then act.

    ``adapters`` is a cache of connected adapters owned by the caller's thread (the cron
    scheduler keeps one); without it, adapters are made for this run and closed after.
    """
    names = check_names(names)
    run_id = store.start_run(ledger, names, actor)
    findings, done = evaluate_checks(ledger, venues_config, home, names, adapters=adapters, settings=settings)
    store.record(ledger, run_id, done, findings)
    if act:
        act_on(ledger, findings, alerter or Alerter(ledger), actor)
    return findings


def evaluate_checks(
    ledger: Ledger, venues_config: VenuesConfig, home: Path, names: Sequence[str] | None = None, *,
    adapters: dict[str, VenueAdapter] | None = None, settings: Settings | None = None,
) -> tuple[list[Finding], list[str]]:
    """The findings of ``names`` (most severe first) and the checks that ran, computed from the
    ledger and the venues without writing anything: a read-only ledger is enough."""
    names = check_names(names)
    try:
        led = read_ledger(ledger, settings or settings_for(home))
        venues: dict[str, VenueData] = {}
        if any(CHECKS[n].needs_venue for n in names):
            venues = gather_venues(led, venues_config, adapter_factory(venues_config, home), adapters)
        findings, done = evaluate(names, led, venues)
    except Exception as exc:  # noqa: BLE001 - reading the inputs failed: every check failed
        log.exception("audit inputs could not be read")
        findings, done = [failed(n, exc) for n in names], []
    return sorted(findings, key=lambda f: (-f.severity.rank, f.check, f.variant or "", f.key)), done


def act_on(ledger: Ledger, findings: Sequence[Finding], alerter: Alerter, actor: str) -> list[str]:
    """Quarantine the live variants named by critical findings; alert on warnings and worse."""
    from runner.engine.lifecycle_driver import transition
    from runner.lifecycle import Trigger

    moved: list[str] = []
    states = ledger.states()
    for f in findings:
        action = ""
        if f.severity is Severity.CRITICAL:
            targets = [f.variant] if f.variant else list(f.evidence.get("variants") or [])
            for v in targets:
                st = states.get(v)
                if st is None or st.state not in QUARANTINABLE or v in moved:
                    continue
                try:
                    transition(ledger, v, st.state, Trigger.QUARANTINE, "invariant", f"{f.check}: {f.summary}"[:500],
                               actor)
                except RefusedError as exc:
                    log.warning("audit: cannot quarantine %s: %s", v, exc)
                    continue
                moved.append(v)
                action += f"{v} quarantined. "
        alerter.alert(f, action.strip())
    return moved
