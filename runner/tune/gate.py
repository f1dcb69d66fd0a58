"""The promotion gate: a pure function of two metric sets (candidate, current) and the gate's spec.

Judged out of sample. Each inequality that does not hold is named with its numbers, so the
table can say why a candidate was refused. A Sharpe that cannot be computed (under 30 days of
data, or no variance) cannot prove an improvement, so it fails the Sharpe inequality: the gate
is strict, it never passes what it could not check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.spec.tune_config import PromotionGateSpec

INEQUALITIES = ("sharpe", "trades", "drawdown", "return")
EPS = 1e-12  # float noise at a boundary (0.1 x 0.9 is 0.09000000000000001): "at least" holds at equality


@dataclass(frozen=True)
class Verdict:
    passes: bool
    failures: tuple[tuple[str, str], ...]  # (inequality, what does not hold)

    @property
    def failed(self) -> list[str]:
        return [name for name, _ in self.failures]

    def as_json(self) -> dict[str, Any]:
        return {"passes": self.passes, "fails": [{"inequality": n, "detail": d} for n, d in self.failures]}


def return_floor(current: float, ratio: float) -> float:
    """``current x ratio`` on a gain; on a loss the same distance below it (never a stricter bar)."""
    return current * ratio if current >= 0 else current - (1.0 - ratio) * abs(current)


def judge(candidate: Mapping[str, Any], current: Mapping[str, Any], gate: PromotionGateSpec) -> Verdict:
    """Which of the four inequalities ``candidate`` fails against ``current``."""
    fails: list[tuple[str, str]] = []
    cs, bs = candidate.get("sharpe"), current.get("sharpe")
    if cs is None or bs is None:
        who = "candidate" if cs is None else "current"
        fails.append(("sharpe", f"{who} Sharpe n/a (under 30 days or no variance): cannot show > current + "
                                f"{gate.sharpe_margin:g}"))
    elif not cs > bs + gate.sharpe_margin:
        fails.append(("sharpe", f"Sharpe {cs:.2f} <= current {bs:.2f} + {gate.sharpe_margin:g}"))
    trades = int(candidate.get("trades") or 0)
    if trades < gate.min_trades:
        fails.append(("trades", f"trades {trades} < {gate.min_trades}"))
    cdd, bdd = float(candidate.get("max_drawdown") or 0.0), float(current.get("max_drawdown") or 0.0)
    if cdd > bdd * gate.drawdown_ratio + EPS:
        limit = "current's" if gate.drawdown_ratio == 1 else f"{gate.drawdown_ratio:g} x current's"
        fails.append(("drawdown", f"max drawdown {cdd:.2%} > {limit} {bdd * gate.drawdown_ratio:.2%}"))
    cr, br = float(candidate.get("total_return") or 0.0), float(current.get("total_return") or 0.0)
    floor = return_floor(br, gate.return_ratio)
    if cr < floor - EPS:
        fails.append(("return", f"total return {cr:.2%} < {gate.return_ratio:g} x current's {br:.2%} "
                                f"({floor:.2%})"))
    return Verdict(not fails, tuple(fails))
