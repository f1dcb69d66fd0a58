"""Global guards: recorded states that stop new entries across variants.

* ``daily_drawdown`` (kill switch): the UTC day's PnL of all variants below ``-max_loss``;
  released only by the operator (``runner guard-release daily_drawdown``), re-armed once the
  loss is back inside the limit or the day changes.
* ``blackout``: within ``before_min``/``after_min`` of a calendar event (CPI, FOMC, NFP...):
  entries stop and resting entry orders are cancelled; lifts by itself.
* ``exposure:<group>``: at most ``max_positions`` variants holding a position in the group's
  instruments; others may not enter there; lifts by itself.

:func:`evaluate` is pure; :class:`Guards` records changes in the ledger and tells the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from runner.errors import BadInputError, SpecError
from runner.ledger.models import GuardEvent, GuardState
from runner.ledger.store import Ledger
from runner.ledger.types import utcnow
from runner.marketdata.timestamps import parse_any, to_iso
from runner.spec.deployment_config import GuardsSpec
from runner.spec.yamlload import load_yaml

T_GUARDS = GuardState.__table__
T_GEVENTS = GuardEvent.__table__


@dataclass(frozen=True)
class Decision:
    name: str
    active: bool
    reason: str
    release: str  # operator | automatic
    instruments: frozenset[str] | None = None  # None: every instrument
    exempt: frozenset[str] = frozenset()  # variants the guard does not stop (exposure holders)


def load_calendar(path: Path) -> list[tuple[str, float]]:
    doc = load_yaml(path)
    rows = doc.data.get("events", doc.data) if isinstance(doc.data, dict) else doc.data
    if not isinstance(rows, list):
        raise BadInputError(f"{path}: expected a list of events ({{name, at}})")
    out = []
    for i, row in enumerate(rows):
        try:
            out.append((str(row["name"]), parse_any(row["at"] if not isinstance(row["at"], datetime)
                                                     else row["at"].isoformat())))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInputError(f"{path}:{doc.line_of((i,))}: event needs name and at (ISO time): {exc}") from None
    return out


def evaluate(
    spec: GuardsSpec, now: float, day_pnl: float, calendar: Sequence[tuple[str, float]],
    holders: Mapping[str, set[str]], recorded: Mapping[str, bool], armed: bool = True,
) -> list[Decision]:
    out: list[Decision] = []
    if spec.daily_drawdown is not None:
        limit = spec.daily_drawdown.max_loss
        breached = day_pnl <= -limit
        active = recorded.get("daily_drawdown", False) or (breached and armed)
        out.append(Decision("daily_drawdown", active,
                            f"day PnL {day_pnl:.2f} beyond -{limit:g}" if active else "inside the limit", "operator"))
    if spec.blackouts is not None:
        b = spec.blackouts
        hit = [(n, at) for n, at in calendar if at - b.before_min * 60 <= now <= at + b.after_min * 60]
        reason = ", ".join(f"{n} at {to_iso(at)}" for n, at in hit) if hit else "no event near"
        out.append(Decision("blackout", bool(hit), reason, "automatic"))
    for group, g in spec.exposure_groups.items():
        held = holders.get(group, set())
        full = len(held) >= g.max_positions
        out.append(Decision(f"exposure:{group}", full,
                            f"{len(held)}/{g.max_positions} positions: {', '.join(sorted(held))}" if full else
                            f"{len(held)}/{g.max_positions} positions", "automatic",
                            frozenset(g.instruments), frozenset(held)))
    return out


class Guards:
    def __init__(self, ledger: Ledger, spec: GuardsSpec, home: Path) -> None:
        self.ledger = ledger
        self.spec = spec
        self.calendar: list[tuple[str, float]] = []
        if spec.blackouts is not None:
            path = Path(spec.blackouts.calendar)
            try:
                self.calendar = load_calendar(path if path.is_absolute() else home / path)
            except SpecError as exc:
                raise BadInputError(f"runner.yaml guards.blackouts.calendar: {exc}") from None
        self.armed = True
        self.day = ""
        self._last: dict[str, bool] = {}

    @property
    def enabled(self) -> bool:
        s = self.spec
        return s.daily_drawdown is not None or s.blackouts is not None or bool(s.exposure_groups)

    def recorded(self) -> dict[str, bool]:
        with self.ledger.engine.connect() as conn:
            return {r.name: r.active for r in conn.execute(select(T_GUARDS.c.name, T_GUARDS.c.active))}

    def update(self, now: float, day_pnl: float, holders: Mapping[str, set[str]]) -> tuple[list[Decision], list[Decision]]:
        """Evaluate, record what changed; returns (all decisions, those that just became active)."""
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        limit = self.spec.daily_drawdown.max_loss if self.spec.daily_drawdown else None
        if day != self.day or (limit is not None and day_pnl > -limit):
            self.armed, self.day = True, day
        recorded = self.recorded()
        if self._last.get("daily_drawdown") and not recorded.get("daily_drawdown"):
            self.armed = False  # the operator released it: do not trip again on the same loss
        decisions = evaluate(self.spec, now, day_pnl, self.calendar, holders, recorded, self.armed)
        started = []
        for d in decisions:
            if recorded.get(d.name) != d.active:
                self._record(d.name, d.active, d.reason, d.release, "system")
                if d.active:
                    started.append(d)
        self._last = {d.name: d.active for d in decisions}
        return decisions, started

    def _record(self, name: str, active: bool, reason: str, release: str, actor: str) -> None:
        now = utcnow()
        with self.ledger.begin() as conn:
            res = conn.execute(update(T_GUARDS).where(T_GUARDS.c.name == name)
                               .values(active=active, reason=reason, release=release, since=now))
            if res.rowcount == 0:
                conn.execute(insert(T_GUARDS).values(name=name, active=active, reason=reason, release=release, since=now))
            conn.execute(insert(T_GEVENTS).values(name=name, active=active, reason=reason, actor=actor, ts=now))


def release(ledger: Ledger, name: str, actor: str = "operator") -> str:
    """Operator release of a guard (the kill switch needs it). Refuses unknown or inactive guards."""
    from runner.errors import RefusedError

    with ledger.engine.connect() as conn:
        row = conn.execute(select(T_GUARDS).where(T_GUARDS.c.name == name)).mappings().first()
    if row is None:
        raise BadInputError(f"unknown guard {name!r}")
    if not row["active"]:
        raise RefusedError(f"guard {name} is not active")
    now = utcnow()
    with ledger.begin() as conn:
        conn.execute(update(T_GUARDS).where(T_GUARDS.c.name == name)
                     .values(active=False, reason=f"released by {actor}", since=now))
        conn.execute(insert(T_GEVENTS).values(name=name, active=False, reason=f"released by {actor}", actor=actor, ts=now))
    return f"guard {name} released"


def guard_rows(ledger: Ledger) -> list[dict[str, object]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(T_GUARDS).order_by(T_GUARDS.c.name)).mappings().all()
    return [dict(r) for r in rows]
