"""The thresholds every judge of freshness and cost shares: the audits, `runner status` and the agent.

One source, so "is the runner down?" has one answer whichever command is asked (the audit
said 15 s, `status` 10 s and the agent 30 s at different times). Plain constants with no
imports, so the lean CLI read path can use them without loading the audit machinery. The
runbook's `thresholds` section lists them (a test keeps the two equal).
"""

from __future__ import annotations

from decimal import Decimal

HEARTBEAT_STALE_S = 15.0  # no runner heartbeat for longer: the runner is down (it beats every second)
STALE_DATA_S = 30.0  # market data older than this is stale (runner.yaml `stale_data_s` overrides)
ORDER_GRACE_S = 30.0  # an order younger than this may still be in flight
FEE_TOLERANCE = Decimal("0.10")  # fraction above the venue's fee schedule
SLIPPAGE_TOLERANCE_BPS = Decimal("5")  # beyond the variant's own slippage cap
