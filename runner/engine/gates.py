"""Whether an order may go out: live gates, exposure caps, the desk's guards.

The engine asks ``entry_gate`` at every entry and ``live_send_gate`` at every order of a live
variant; ``apply_guards`` (each second) sets what the guards block on every engine and starts
a blackout's cancels; ``enforce_live_gates`` pauses a live variant whose gates no longer hold
(it keeps managing its position). venues.yaml is re-read here, since the gates depend on it.
One owner for the refusals, apart from the loop that calls them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from runner.engine.live_gates import REASON as LIVE_GATE
from runner.engine.live_gates import missing_gates, refusal
from runner.engine.variant import VariantEngine
from runner.errors import SpecError
from runner.lifecycle import State, Trigger
from venues.base import OrderRequest

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime


class Gates:
    """The runtime's order-time checks and the guards' effect on its engines."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def entry_gate(self, eng: VariantEngine, sym: str) -> str | None:
        """Checked at every entry: the live gates, then the exposure caps."""
        if eng.spec.mode == "live" and missing_gates(eng.spec, self.rt.venues):
            return LIVE_GATE
        return self._exposure_gate(eng, sym) if self.rt.config.guards.exposure_groups else None

    def live_send_gate(self, eng: VariantEngine, req: OrderRequest) -> str | None:
        """Every order of a live variant: an entry needs all three gates (exits always pass)."""
        if not req.reduce_only and missing_gates(eng.spec, self.rt.venues):
            return LIVE_GATE
        return None

    def reload_venues(self) -> None:
        """venues.yaml changed: adopt it (live gates are re-checked on the next step); an invalid
        one is reported and the last good one stays."""
        rt = self.rt
        try:
            new = rt.venues_file.changed()
        except SpecError as exc:
            rt.reporter.error(f"venues.yaml changed but is invalid, keeping the previous one: {exc}")
            return
        if new is not None:
            rt.venues = new
            rt.reporter.info("venues.yaml changed: live gates re-checked")

    def enforce_live_gates(self, account: str | None = None) -> None:
        """A live variant whose gates no longer hold is paused, the missing gate named; it keeps
        managing its position (entries are refused at order time meanwhile)."""
        for eng in self.rt.of(account):
            if eng.state is State.ACTIVE and eng.spec.mode == "live":
                why = refusal(eng.spec, self.rt.venues)
                if why:
                    self.rt.life.fire(eng, Trigger.PAUSE, LIVE_GATE, why)

    def _exposure_gate(self, eng: VariantEngine, sym: str) -> str | None:
        """Exposure caps, checked at order time: positions and working entries of other variants."""
        for group, g in self.rt.config.guards.exposure_groups.items():
            if sym not in g.instruments or any(eng.views.get(s) for s in g.instruments):
                continue
            others = {e.id for e in self.rt.of(None) if e is not eng and e.state is not State.RETIRED and (
                any(e.views.get(s) for s in g.instruments)
                or any(w.req.instrument in g.instruments and w.purpose in ("entry", "quote") for w in e.working.values()))}
            if len(others) >= g.max_positions:
                return f"exposure:{group}"
        return None

    def apply_guards(self, now: float) -> None:
        rt = self.rt
        live = [e for e in rt.of(None) if e.state is not State.RETIRED]
        day_pnl = float(sum((e.daily_pnl() for e in live), Decimal(0)))
        holders: dict[str, set[str]] = {}
        for group, g in rt.config.guards.exposure_groups.items():
            holders[group] = {e.id for e in live if any(e.views.get(sym) for sym in g.instruments)}
        decisions, started = rt.guards.update(now, day_pnl, holders)
        for eng in live:
            glob = [d.name for d in decisions if d.active and d.instruments is None]
            eng.guard_reason = glob[0] if glob else None
            eng.blocked = {sym: d.name for d in decisions if d.active and d.instruments is not None
                           and eng.id not in d.exempt for sym in d.instruments}
        for d in started:
            rt.reporter.info(f"guard {d.name} active: {d.reason}")
            if d.name == "blackout":  # resting entry orders come off, on each account's own thread
                rt.chores.blackout({e.venue.account for e in live})
