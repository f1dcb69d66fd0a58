"""Does a variant fit its account? Instrument names and the kind's needs, checked before deploying.

``runner validate`` asks this once the file itself is valid. Each instrument must be one the
account lists when its instrument list can be reached, or at least have the venue's shape when
it cannot (no credentials, no network, ``--offline``); and what the kind needs (post-only
quotes, shorting, binary legs) must be among the adapter's declared ``Capabilities``, which the
engine otherwise only finds out about from the venue's refusals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runner.errors import BadInputError, RejectedError, RunnerError, SpecIssue
from runner.kinds.registry import get_kind
from runner.spec.deployment_config import VenuesConfig
from runner.spec.load import LoadedVariant
from runner.spec.yamlload import parse_yaml
from venues.base import Capabilities, VenueAdapter

_LEG = re.compile(r":(yes|no)$", re.IGNORECASE)


@dataclass(frozen=True)
class Fit:
    issues: list[SpecIssue]
    note: str  # how the instruments were checked (listed by the venue, or by shape only)
    bars: str = ""  # where a variant on bars gets them: the venue's own candles, or built from books


def needs(loaded: LoadedVariant) -> dict[str, str]:
    """Capability -> why this variant needs it (kind, params and execution style)."""
    cls = get_kind(loaded.spec.kind)
    out = dict(cls.NEEDS) if cls is not None else {}  # each kind declares its needs as data
    if loaded.spec.execution.style == "maker":
        out["post_only"] = "execution style maker sends post-only entries"
    if loaded.spec.kind == "mean_reversion" and getattr(loaded.params, "long_only", True) is False:
        out["shorting"] = "long_only: false sells short"
    return out


def capability_issues(loaded: LoadedVariant, caps: Capabilities, adapter: str) -> list[SpecIssue]:
    doc = parse_yaml(loaded.yaml_text, str(loaded.path))
    return [
        SpecIssue(doc.file, doc.line_of(("kind",)), "kind",
                  f"{loaded.spec.kind} needs {cap.replace('_', '-')} ({why}); adapter {adapter} "
                  f"of account {loaded.spec.venue} does not declare it")
        for cap, why in needs(loaded).items() if not getattr(caps, cap, False)
    ]


def instrument_issues(loaded: LoadedVariant, ad: VenueAdapter, reachable: bool) -> list[SpecIssue]:
    doc = parse_yaml(loaded.yaml_text, str(loaded.path))
    out = []
    for i, sym in enumerate(loaded.spec.instruments):
        line = doc.line_of(("instruments", i))
        if loaded.spec.kind == "kalshi_sum" and _LEG.search(sym):
            out.append(SpecIssue(doc.file, line, "instruments",
                                 f"{sym!r}: kalshi_sum watches markets; write {_LEG.sub('', sym)!r} "
                                 "(it trades the :yes and :no legs itself)"))
            continue
        problem = ad.symbol_problem(sym)
        if problem is None and reachable:
            try:
                ad.instrument(sym)
            except RejectedError:
                listed = sorted(ad.instruments())
                some = ", ".join(listed[:5]) + (", ..." if len(listed) > 5 else "")
                problem = f"not an instrument of account {loaded.spec.venue} (it lists {len(listed)}: {some})"
            except RunnerError:
                pass  # the venue stopped answering: the shape was checked
        if problem is not None:
            out.append(SpecIssue(doc.file, line, "instruments", f"{sym!r}: {problem}"))
    return out


def check_fit(loaded: LoadedVariant, venues: VenuesConfig, home: Path, offline: bool = False) -> Fit:
    """Every issue of ``loaded`` against its account; nothing is written (the sim is opened in memory)."""
    from runner.engine.accounts import account_config
    from venues.registry import create_adapter

    acct = account_config(loaded.spec.venue, venues, home)
    if acct.adapter == "sim":
        from venues.sim.adapter import in_memory

        ad: VenueAdapter = in_memory(acct)
        reachable, note = True, "instruments checked against the sim's list"
    else:
        ad = create_adapter(acct)
        reachable, note = False, "instruments checked by shape only (--offline)"
        if not offline:
            try:
                ad.connect()
                reachable, note = True, f"instruments checked against account {acct.name}'s list"
            except (RunnerError, BadInputError, OSError) as exc:
                note = f"instruments checked by shape only: account {acct.name} not reachable ({exc})"
    try:
        issues = capability_issues(loaded, ad.capabilities, acct.adapter) + instrument_issues(loaded, ad, reachable)
        bars = ""
        if loaded.stream.kind == "bars":
            bars = (f"the venue's own candles ({acct.name}'s candle stream)"
                    if loaded.stream.timeframe_s in ad.native_timeframes() else f"built from {acct.name}'s books")
    finally:
        ad.close()
    return Fit(issues, note, bars)
