"""Freshness: the runner's heartbeat and its market data are recent while any variant is live.

Pure: ``(LedgerData, venues) -> list[Finding]``; it needs no venue, only the heartbeats the
running runner writes every second (with the time of the last market event it saw) and
what it recorded of each account's stream (``stream_health``).
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.audit.findings import Finding, Severity
from runner.audit.inputs import LedgerData, VenueData, age_s
from runner.audit.stream_health import stream_health


def freshness(led: LedgerData, _venues: Mapping[str, VenueData]) -> list[Finding]:
    """The runner's heartbeat and its market data are recent, when any variant is live."""
    live = [v for v, s in led.states.items() if v in led.deployments and s.state != "retired"]
    if not live:
        return []
    s = led.settings
    beats = sorted(led.heartbeats, key=lambda h: age_s(led, h.ts) or 0.0)
    if not beats:
        return [Finding("freshness", Severity.WARNING, None, {"subject": "heartbeat", "live_variants": live},
                        "stale-data", "no runner heartbeat recorded: live variants are not being run")]
    hb = beats[0]
    out = []
    hb_age = age_s(led, hb.ts) or 0.0
    if hb_age > s.heartbeat_stale_s:
        out.append(Finding("freshness", Severity.WARNING, None,
                           {"subject": "heartbeat", "runner": hb.runner_id, "age_s": hb_age,
                            "limit_s": s.heartbeat_stale_s, "live_variants": live},
                           "stale-data", f"runner heartbeat is {hb_age:.0f}s old (limit {s.heartbeat_stale_s:.0f}s)"))
        return out
    md_age = age_s(led, hb.market_ts)
    if md_age is None or md_age > s.stale_data_s:
        out.append(Finding("freshness", Severity.WARNING, None,
                           {"subject": "market_data", "runner": hb.runner_id, "age_s": md_age,
                            "limit_s": s.stale_data_s},
                           "stale-data", f"market data is {'missing' if md_age is None else f'{md_age:.0f}s old'} "
                                         f"(limit {s.stale_data_s:.0f}s)"))
    return out + stream_health(led)
