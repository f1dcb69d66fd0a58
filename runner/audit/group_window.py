"""How long a multi-leg group may stay unbalanced, and by how much, before it is a breach.

A kind that legs into a pair (funding_arb: one leg IOC-filled, the other missed) repairs it
itself: it waits, tops up, then unwinds (``Strategy.group_tolerance``). Calling the group a
critical breach inside that window was a false alarm on a healthy variant. The window is in
venue seconds and is measured on the market clock the runner has processed (its heartbeat's
``market_ts``), not the wall clock: a sim runs many venue seconds per wall second, and a loop
that fell behind has not yet given the kind the events on which it would repair, so the
window must not run out while the kind cannot act. With no fresh heartbeat (no runner, or a
dead one) the wall time since its last beat counts as venue time, so a real imbalance is still
reported once the window has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import yaml

from runner.audit.inputs import LedgerData, age_s
from runner.kinds.base import NO_TOLERANCE, GroupTolerance
from runner.kinds.registry import get_kind
from runner.ledger.jsonable import aware


def tolerances(led: LedgerData) -> dict[str, GroupTolerance]:
    """Each deployed variant's group tolerance, from its kind and params (none if unreadable)."""
    out = {}
    for vid, dep in led.deployments.items():
        try:
            kind = get_kind(dep.kind)
            doc = yaml.safe_load(dep.yaml_text) or {}
            out[vid] = kind.group_tolerance(kind.Params.model_validate(doc.get("params") or {})) if kind else NO_TOLERANCE
        except Exception:  # noqa: BLE001 - a file the runner could not run either: no allowance
            out[vid] = NO_TOLERANCE
    return out


def market_now(led: LedgerData) -> datetime:
    """The venue time the running runner has processed up to (see the module docstring)."""
    best: datetime | None = None
    for hb in led.heartbeats:
        if hb.market_ts is None:
            continue
        beat_age = max(age_s(led, hb.ts) or 0.0, 0.0)
        ts = aware(hb.market_ts)
        if beat_age > led.settings.heartbeat_stale_s:
            ts += timedelta(seconds=beat_age)  # a dead runner's market clock: wall time since its beat
        best = ts if best is None else max(best, ts)
    return best if best is not None else led.now

