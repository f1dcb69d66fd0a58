"""Venue streams as the freshness audit sees them, from what the running runner recorded.

Pure: ``LedgerData -> list[Finding]``. A gap or a resync is information: the stream noticed
and repaired itself (``info``). A stream down past ``stream_down_s`` while variants trade on
the account is a ``warning`` (books come by REST within the budget meanwhile, and may be
refused as stale); like every venue reading it is confirmed on a second reading before it
counts (``runner.audit.confirm``), and it never quarantines: variants skip on stale data on
their own, and the operator decides.
"""

from __future__ import annotations

from collections import Counter

from runner.audit.findings import Finding, Severity
from runner.audit.inputs import LedgerData, age_s

DOWN = ("reconnecting", "stale")
REPAIRS = ("gap", "resync")


def stream_health(led: LedgerData) -> list[Finding]:
    live = {d.venue for v, d in led.deployments.items()
            if v in led.states and led.states[v].state not in ("retired", "quarantined")}
    out: list[Finding] = []
    s = led.settings
    for account, row in sorted(led.streams.items()):
        if account not in live or row.state not in DOWN or row.down_since is None:
            continue
        down = age_s(led, row.down_since) or 0.0
        if down > s.stream_down_s:
            out.append(Finding(
                "freshness", Severity.WARNING, None,
                {"subject": f"stream:{account}", "account": account, "state": row.state, "down_s": round(down, 1),
                 "limit_s": s.stream_down_s, "runner": row.runner_id},
                "stale-data",
                f"{account}: venue stream {row.state} for {down:.0f}s (limit {s.stream_down_s:.0f}s); books come "
                "by REST within the request budget meanwhile"))
    repairs: Counter[tuple[str, str]] = Counter(
        (e.account, e.kind) for e in led.stream_events if e.kind in REPAIRS and e.account in live)
    for account in sorted({a for a, _k in repairs}):
        gaps, resyncs = repairs[(account, "gap")], repairs[(account, "resync")]
        out.append(Finding(
            "freshness", Severity.INFO, None,
            {"subject": f"stream_repairs:{account}", "account": account, "gaps": gaps, "resyncs": resyncs,
             "window_s": s.stream_window_s},
            "stale-data",
            f"{account}: {gaps} sequence gap(s), {resyncs} resync(s) from a REST snapshot in the last "
            f"{s.stream_window_s / 60:.0f} min"))
    return out
