"""Alerts: to the log and to the operator's notification URLs (apprise), rate-limited.

One URL list reaches Slack, Telegram, email or a webhook. The limit is per finding key and
read from the ledger (the latest ``alerted`` of any row with that key), so a check that
flaps open/closed, or two processes auditing, cannot spam.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from runner.audit import store
from runner.audit.findings import Finding, Severity
from runner.ledger.store import Ledger
from runner.ledger.types import utcnow

log = logging.getLogger("runner.alerts")

Notify = Callable[[str, str, str], bool]  # (title, body, severity) -> delivered

# The alert service's own types, so a critical finding arrives as a failure, not as "info".
NOTIFY_TYPES = {"critical": "failure", "warning": "warning", "pending": "info", "info": "info"}


def notify_type(severity: Severity) -> str:
    """Apprise's ``NotifyType`` value for a finding's severity."""
    return NOTIFY_TYPES[severity.value]


def apprise_notifier(urls: Sequence[str]) -> Notify | None:
    """An apprise sender for ``urls``; None when there are none (log only)."""
    if not urls:
        return None
    import apprise

    ap = apprise.Apprise()
    for url in urls:
        if not ap.add(url):
            log.error("alerts: cannot use notification URL %s (unknown scheme or bad syntax)", _redact(url))

    def send(title: str, body: str, severity: str = "warning") -> bool:
        from apprise import NotifyType

        try:
            return bool(ap.notify(title=title, body=body, notify_type=NotifyType(NOTIFY_TYPES[severity])))
        except Exception as exc:  # noqa: BLE001 - a broken notifier must never stop an audit
            log.error("alerts: notification failed: %s", exc)
            return False

    return send


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://…" if rest else url


class Alerter:
    def __init__(self, ledger: Ledger, notify: Notify | None = None, min_interval_s: float = 300.0,
                 min_severity: Severity = Severity.WARNING) -> None:
        self.ledger = ledger
        self.notify = notify
        self.min_interval = timedelta(seconds=min_interval_s)
        self.min_severity = min_severity
        self.sent: list[tuple[str, str]] = []  # (key, title) of alerts sent by this instance

    @classmethod
    def from_config(cls, ledger: Ledger, alerts) -> Alerter:  # type: ignore[no-untyped-def]
        """From ``runner.yaml``'s ``alerts`` (an ``AlertSpec``: urls, min_interval_s)."""
        return cls(ledger, apprise_notifier(list(alerts.urls)), alerts.min_interval_s)

    def alert(self, finding: Finding, action: str = "") -> bool:
        """Log and notify unless the same finding was alerted within the interval. A pending
        finding (one reading, unconfirmed) never pages."""
        if finding.severity.rank < self.min_severity.rank or finding.severity is Severity.PENDING:
            return False
        now = utcnow()
        last = store.last_alerted(self.ledger, finding.key)
        if last is not None:
            if last.tzinfo is None:
                from datetime import UTC

                last = last.replace(tzinfo=UTC)
            if now - last < self.min_interval:
                return False
        title = f"[{finding.severity.value}] {finding.check}" + (f" {finding.variant}" if finding.variant else "")
        body = finding.summary or str(finding.evidence)
        if action:
            body += f"\n{action}"
        body += f"\nrunbook: {finding.runbook}"
        level = logging.CRITICAL if finding.severity is Severity.CRITICAL else logging.WARNING
        log.log(level, "ALERT %s: %s", title, body.replace("\n", " | "))
        if self.notify is not None:
            self.notify(title, body, finding.severity.value)
        store.mark_alerted(self.ledger, finding.key, now)
        self.sent.append((finding.key, title))
        return True
