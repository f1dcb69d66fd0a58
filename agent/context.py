"""What the agent reads: the deployment, opened read-only at the database level.

The agent never acts, and that is enforced below the tools: SQLite connections run with
``PRAGMA query_only``, PostgreSQL sessions are read-only transactions. A deployment with no
ledger yet is read as an empty in-memory one, so triage on a fresh directory creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from runner.ledger.store import Ledger, default_url
from runner.readmodels.readonly import open_readonly
from runner.readmodels.runbook import Runbook, load_runbook
from runner.spec.deployment_config import RunnerConfig, VenuesConfig, load_runner_config, load_venues


@dataclass
class AgentContext:
    """Everything a tool may read. ``now`` is injectable so staleness is testable."""

    home: Path
    ledger: Ledger
    venues: VenuesConfig
    config: RunnerConfig
    runbook: Runbook
    ledger_url: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def open(cls, home: Path, db: str | None = None, now: datetime | None = None) -> AgentContext:
        url = db or default_url(home)
        return cls(
            home=home, ledger=open_readonly(url), venues=load_venues(home), config=load_runner_config(home),
            runbook=load_runbook(home), ledger_url=url, now=now or datetime.now(UTC),
        )

    def variant_ids(self) -> list[str]:
        return [d.variant for d in self.ledger.deployments() if "@" not in d.variant]

    def close(self) -> None:
        self.ledger.close()


