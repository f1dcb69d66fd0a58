"""One account's chores after its trading part: lifecycle, cancels, order polls, position sync.

``tend`` runs on the account's own thread (inline under ``Runtime.step``), so a slow venue
delays only its own variants' chores. It moves the lifecycle (troubles, warm, backoff
elapsed, retire steps), takes resting entries off when a blackout started, polls the orders
still working, adopts positions another process moved in the ledger, and records what the
account's stream reported. Cancelling on stop lives here too: the same per-account walk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.engine.retries import Backoff
from runner.engine.stream_events import record_stream_events
from runner.engine.variant import VariantEngine
from runner.errors import FencedError, RunnerError
from runner.ledger.models import MAIN_RUN
from runner.ledger.positions import PositionState
from runner.lifecycle import State, Trigger, pause_requested
from venues.base import OrderStatus

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime

UNSEEN_LOOKS = 3  # status polls run every 2 s


class AccountChores:
    """The per-account chores of the runtime's step, and the cancels on a clean stop."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.unseen: dict[str, int] = {}  # client id -> lookups that did not find it
        self._cancel_entries: set[str] = set()  # accounts whose resting entries must come off (blackout)

    def tend(self, account: str, now: float) -> None:
        """An account's chores: lifecycle, cancels a guard asked for, order polls, position sync,
        and what its stream reported."""
        rt = self.rt
        self.housekeeping(now, account)
        if account in self._cancel_entries:
            self._cancel_entries.discard(account)
            self.cancel_resting_entries(account)
        if rt.due(account, "status", now, 2.0):
            self.poll_open_orders(account)
        if rt.due(account, "positions", now, 1.0):
            self.sync_positions(account)
        ad = rt.adapters.get(account)
        if ad is not None and (events := ad.stream_events()):
            rt.board.saw(events)
            record_stream_events(rt.ledger, events)

    def housekeeping(self, now: float, account: str | None = None) -> None:
        rt = self.rt
        rt.gates.enforce_live_gates(account)
        for eng in rt.of(account):
            rt.responder.handle_troubles(eng, now)
            if eng.state is State.WARMING and eng.strategy.warm:
                self.warm(eng)
            elif eng.state is State.BACKOFF and now >= rt.backoff.get(eng.id, Backoff()).until:
                rt.life.fire(eng, Trigger.BACKOFF_ELAPSED, "transient", "auto-resume after backoff")
            elif eng.state is State.RETIRING and rt.retries.due("retire:" + eng.id, now):
                rt.responder.retire_step(eng, now)

    def warm(self, eng: VariantEngine) -> None:
        """Warm: active, or paused at once when the operator paused it while it was warming."""
        rt = self.rt
        path = str(eng.loaded.path)
        if any(e.file == path and e.message.startswith(f"{eng.id}: cannot run") for e in rt.ledger.spec_errors()):
            rt.ledger.clear_spec_error(path)  # whatever stopped it warming is gone
        request = pause_requested(rt.ledger.transitions(eng.id))
        if rt.life.fire(eng, Trigger.WARM, "warm", "strategy has its history"):
            rt.streams.fresh.add(eng.id)
            if request is not None:
                rt.life.fire(eng, Trigger.PAUSE, request.reason, f"{request.detail} (now warm)", "operator")

    def blackout(self, accounts: set[str]) -> None:
        """Resting entry orders come off, on each account's own thread (inline without threads)."""
        self._cancel_entries.update(accounts)
        if self.rt.workers is None:
            for account in sorted(self._cancel_entries):
                self._cancel_entries.discard(account)
                self.cancel_resting_entries(account)

    def cancel_resting_entries(self, account: str) -> None:
        rt = self.rt
        for eng in rt.of(account):
            if eng.state is State.RETIRED:
                continue
            for cid, w in list(eng.working.items()):
                if w.purpose in ("entry", "quote"):
                    try:
                        rep = eng.cancel(cid, w.req.instrument)
                    except FencedError as exc:
                        eng.fenced = str(exc)  # another runner holds it now: let go, cancel nothing
                        break
                    except RunnerError as exc:
                        rt.reporter.error(f"{eng.id}: blackout cancel {cid}: {exc}")
                        continue
                    if rep is not None:
                        eng.on_report(rep)

    def poll_open_orders(self, account: str | None = None) -> None:
        rt = self.rt
        for eng in rt.of(account):
            for cid, w in list(eng.working.items()):
                try:
                    rep = eng.venue.order(cid, w.req.instrument)
                except RunnerError:
                    continue
                if rep is None:
                    # Written, maybe sent, unknown to the venue: after a few looks (the venue
                    # had time to show it) it was never taken; stop holding the instrument.
                    self.unseen[cid] = self.unseen.get(cid, 0) + 1
                    if self.unseen[cid] >= UNSEEN_LOOKS:
                        del self.unseen[cid]
                        eng.working.pop(cid, None)
                        rt.sink.order_event(cid, "not_sent", detail=f"unknown to the venue after {UNSEEN_LOOKS} lookups")
                    continue
                self.unseen.pop(cid, None)
                if not rep.status.is_open or rep.status is OrderStatus.PARTIALLY_FILLED:
                    if rep.filled_qty > w.filled:
                        # Wait for the fills before closing the order, unless another runner on
                        # this ledger (same account, reading while the variant was unheld) booked them already:
                        # the position comes from the ledger (sync_positions), the order closes.
                        booked = rt.ledger.filled_qty(cid)
                        if booked < rep.filled_qty:
                            continue
                        w.filled = booked
                    eng.on_report(rep)

    def sync_positions(self, account: str | None = None) -> None:
        """The ledger is the truth: adopt positions another process moved (close-dust, reconcile).
        On the account's own thread: a fill it is applying is never folded in twice."""
        rt = self.rt
        for p in rt.ledger.positions(MAIN_RUN):
            eng = rt.engines.get(p.variant)
            if eng is None or (account is not None and eng.venue.account != account):
                continue
            mine = eng.positions.get(p.instrument)
            if mine is None or (mine.qty, mine.avg_price, mine.realized_pnl, mine.fees) != (
                    p.qty, p.avg_price, p.realized_pnl, p.fees):
                eng.restore_position(p.instrument, PositionState(p.qty, p.avg_price, p.realized_pnl, p.fees, p.opened))

    def cancel_on_stop(self, account: str | None = None) -> None:
        """Resting orders must not fill while nobody manages them; a venue that does not answer
        is reported and the stop goes on (the next start reconciles the orders by client id)."""
        rt = self.rt
        for eng in rt.of(account):
            spec = rt.venues.accounts.get(eng.venue.account)
            if not eng.working or (spec is not None and spec.on_stop == "leave"):
                continue
            try:
                eng.cancel_all()
            except FencedError as exc:  # its new owner manages those orders now
                rt.reporter.error(f"{eng.id}: resting orders left to the runner that holds it now: {exc}")
            except RunnerError as exc:
                rt.reporter.error(f"{eng.id}: cancelling resting orders on stop: {exc}")
