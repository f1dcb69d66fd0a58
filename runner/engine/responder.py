"""What the runtime does with a variant's troubles, and how a retiring variant gets flat.

Each trouble an engine collected goes through the one lifecycle policy
(``runner.lifecycle.respond``): a backoff cycle, a rejection count, a quarantine, a retire
retry, or a console line. Retiring cancels, flattens what is not dust, then declares retired,
retrying with backoff while the venue cannot be reached. One owner for these consequences,
so the loop never decides them inline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.engine.adoption import STARTING
from runner.engine.binary_netting import book_netted_pairs
from runner.engine.retries import Backoff
from runner.engine.variant import VariantEngine
from runner.errors import ErrorClass, FencedError, RunnerError
from runner.kinds.base import Intent, MarketEvent
from runner.lifecycle import Action, State, Trigger, respond

if TYPE_CHECKING:
    from runner.engine.runtime import Runtime


class Responder:
    """Troubles turned into lifecycle triggers (backoff, quarantine), and the retire steps."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.reported: dict[tuple[str, str], float] = {}  # (variant, error class) -> last console line

    def handle_troubles(self, eng: VariantEngine, now: float) -> None:
        """Each trouble goes through the one lifecycle policy (``runner.lifecycle.respond``)."""
        rt = self.rt
        troubles, eng.troubles = eng.troubles, []
        b = rt.backoff.get(eng.id)
        if b is not None and not troubles and eng.state is State.ACTIVE and eng.submits_ok > b.ok_mark:
            del rt.backoff[eng.id]  # the venue took an order again: the retry count starts over
        for t in troubles:
            cls = t.error.error_class
            resp = respond(eng.state, cls)
            if resp.action is Action.BACKOFF:
                self._back_off(eng, t, now)
            elif resp.action is Action.COUNT:
                n = rt.rejections.get(eng.id, 0) + 1
                rt.rejections[eng.id] = n
                if n >= rt.config.rejection_limit:
                    rt.rejections[eng.id] = 0  # the counter resets on the transition it caused
                    self.quarantine(eng, cls.value, t.detail)
            elif resp.action is Action.QUARANTINE:
                self.quarantine(eng, cls.value, t.detail)
            elif resp.action is Action.RETRY:
                self.retire_failed(eng, t.error, now)
            elif resp.action is Action.REPORT and cls is ErrorClass.REJECTED and eng.state in STARTING:
                self._cannot_run(eng, t.detail)
            elif resp.action is Action.REPORT:
                self.report_once(eng.id, cls.value, t.detail, now)

    def _back_off(self, eng: VariantEngine, t, now: float) -> None:  # type: ignore[no-untyped-def]
        """A backoff cycle is one attempt however many ticks it spans; past the limit, quarantine."""
        rt = self.rt
        b = rt.backoff.setdefault(eng.id, Backoff())
        if eng.state is State.BACKOFF:
            return  # the same cycle (an exit or a book failing while it waits): not a new attempt
        cfg = rt.config.backoff
        if b.attempts >= cfg.max_attempts:
            rt.backoff.pop(eng.id, None)
            self.quarantine(eng, "transient", f"retry limit ({cfg.max_attempts}) reached: {t.detail}")
            return
        delay = b.start_cycle(now, cfg.base_s, cfg.cap_s, getattr(t.error, "retry_after", None), eng.submits_ok)
        rt.life.fire(eng, Trigger.TRANSIENT, "transient", f"attempt {b.attempts}, retry in {delay:.1f}s: {t.detail}")

    def _cannot_run(self, eng: VariantEngine, detail: str) -> None:
        """A variant that cannot warm up because the venue refuses what it needs (an instrument it
        does not list) says why on its file (``runner status``, timestamped) and on the console,
        once per distinct reason, instead of sitting silently in ``warming``."""
        if self.rt.ledger.set_spec_error(str(eng.loaded.path), f"{eng.id}: cannot run: {detail}"):
            self.rt.reporter.error(f"{eng.id}: cannot run: {detail} (`runner validate` checks the file against "
                                   "its account)")

    def report_once(self, vid: str, what: str, detail: str, now: float, every_s: float = 60.0) -> None:
        """An error that moves nothing: on the console once a minute per variant and class."""
        key = (vid, what)
        if now - self.reported.get(key, -every_s) >= every_s:
            self.reported[key] = now
            self.rt.reporter.error(f"{vid}: {detail}")

    def quarantine(self, eng: VariantEngine, reason: str, detail: str) -> None:
        if eng.state in (State.ACTIVE, State.PAUSED, State.BACKOFF):
            self.rt.life.fire(eng, Trigger.QUARANTINE, reason, detail)

    def retire_failed(self, eng: VariantEngine, exc: RunnerError, now: float) -> None:
        """Retiring keeps trying with backoff when the venue cannot be reached: one line per attempt
        (an error met while the next attempt is not due yet belongs to the last one)."""
        retries = self.rt.retries
        if not retries.due("retire:" + eng.id, now):
            return
        n, delay = retries.failed("retire:" + eng.id, now, getattr(exc, "retry_after", None))
        self.rt.reporter.error(f"{eng.id}: retiring: attempt {n} failed, next in {delay:.0f}s: {exc}")

    def retire_step(self, eng: VariantEngine, now: float) -> None:
        """Cancel working orders, flatten what is not dust, then declare retired."""
        try:
            if eng.working:
                eng.cancel_all()
                return
            book_netted_pairs(eng)  # a YES+NO pair the venue netted is cash there: no order closes it
            if not eng.is_flat():
                for sym, pos in eng.positions.items():
                    if pos.qty and sym in eng.marks:
                        book = eng.venue.book(sym)
                        if book.gap is not None:
                            eng._skip(book.gap)  # no price to flatten at: look again next step
                            continue
                        ev = MarketEvent(book.ts, sym, book.bids[0][0], book.asks[0][0])
                        side = "sell" if pos.qty > 0 else "buy"
                        eng.place(Intent(sym, side, "flatten", close=True, urgent=True), ev)
                return
        except FencedError as exc:  # another runner holds it now: it retires it, not us
            eng.fenced = str(exc)
            return
        except RunnerError as exc:
            self.retire_failed(eng, exc, now)
            return
        self.rt.retries.ok("retire:" + eng.id)
        dust = {s: str(p.qty) for s, p in eng.positions.items() if p.qty}
        self.rt.life.fire(eng, Trigger.FLAT, "retire", f"flat; dust left: {dust}" if dust else "flat")
