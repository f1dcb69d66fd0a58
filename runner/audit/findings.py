"""What an audit check returns: a finding with severity, evidence and the runbook section."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    # A breach seen on one reading only: it waits for a second reading (after the fill feed
    # caught up) that either confirms it (critical) or clears it. It neither quarantines nor pages.
    PENDING = "pending"
    CRITICAL = "critical"  # a confirmed invariant breach: the running runner quarantines and alerts

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "pending": 1, "critical": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    check: str  # fills_vs_positions | ledger_vs_venue | retired_flat | groups_balanced | ...
    severity: Severity
    variant: str | None  # None for account-wide findings
    evidence: dict[str, Any] = field(default_factory=dict)
    runbook: str = ""  # section id in runbook/, e.g. "invisible-exposure"
    summary: str = ""

    @property
    def key(self) -> str:
        """Identity of a finding across runs: a persisting finding is updated, not duplicated."""
        subject = self.evidence.get("subject", "")
        return f"{self.check}|{self.variant or '*'}|{subject}"
