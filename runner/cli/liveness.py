"""Moved to ``runner.readmodels.liveness`` (the dashboard and the agent read it too); kept for imports."""

from runner.readmodels.liveness import STALE_S, describe, has_deployment, runner_liveness

__all__ = ["STALE_S", "describe", "has_deployment", "runner_liveness"]
