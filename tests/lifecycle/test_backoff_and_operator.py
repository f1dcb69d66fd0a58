"""Issue 14 through the real runtime, sim and ledger: backoff manages positions and counts cycles,
not ticks; operator commands always work (pause before warm, retire before start, abandon)."""

from __future__ import annotations

from decimal import Decimal

from runner import control
from runner.audit.inputs import adapter_factory, gather_venues, read_ledger
from runner.audit.venue_checks import ledger_vs_venue, retired_flat
from runner.engine.report import Reporter
from runner.engine.runtime import Runtime
from runner.kinds.base import Intent
from runner.lifecycle import State
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.deployment import variant_yaml
from tests.kit.desk import Desk
from venues.base import OrderRequest, OrderType, Side, TimeInForce

BACKOFF = "backoff:\n  base_s: 1\n  cap_s: 60\n  max_attempts: 3\n"


class Lines(Reporter):
    """The console, kept: what an operator would have read."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.lines: list[str] = []

    def error(self, message: str) -> None:
        self.lines.append(message)


def _outage(d: Desk, on: bool) -> None:
    d.sim.faults[:] = ["down"] if on else []


def _states(d: Desk, vid: str) -> list[str]:
    return [t.to_state for t in d.ledger.transitions(vid)]


def test_a_backoff_cycle_is_one_attempt_however_many_ticks_it_spans(tmp_path) -> None:
    d = Desk.create(tmp_path, runner_yaml=BACKOFF)
    _outage(d, True)
    d.step(6, dt=0.15)  # 0.9 s of 503s over six ticks, inside the first 1 s delay
    assert d.rt.engines["MR_v1"].state is State.BACKOFF
    assert d.rt.backoff["MR_v1"].attempts == 1
    assert _states(d, "MR_v1").count("backoff") == 1  # one row per cycle, not one per tick
    d.step(6, dt=0.25)  # 1.5 s more: the second cycle, still far from the limit of 3
    assert d.rt.backoff["MR_v1"].attempts == 2
    _outage(d, False)
    d.step(2, dt=0.5)
    assert d.rt.engines["MR_v1"].state is State.ACTIVE
    assert "quarantined" not in _states(d, "MR_v1")


def test_a_retry_hint_lengthens_the_delay_and_the_limit_counts_cycles(tmp_path) -> None:
    d = Desk.create(tmp_path, runner_yaml=BACKOFF)
    _outage(d, True)  # the sim's 503 says retry_after 1 s
    waits = []
    for _ in range(40):
        d.step(1, dt=0.25)
        b = d.rt.backoff.get("MR_v1")
        if b is not None and (not waits or waits[-1][0] != b.attempts):
            waits.append((b.attempts, b.until - d.now))
        if d.rt.engines["MR_v1"].state is State.QUARANTINED:
            break
    assert [a for a, _ in waits] == [1, 2, 3]
    assert [w for _, w in waits] == [1.0, 2.0, 4.0]  # exponential; the 1 s hint never cut it short
    assert d.rt.engines["MR_v1"].state is State.QUARANTINED
    assert _states(d, "MR_v1")[-1] == "quarantined" and _states(d, "MR_v1").count("backoff") == 3


def test_backoff_manages_positions_like_paused(tmp_path) -> None:
    d = Desk.create(tmp_path)
    d.trade("MR_v1", "buy", "0.05")
    eng = d.rt.engines["MR_v1"]
    _outage(d, True)
    d.step(1)
    assert eng.state is State.BACKOFF
    _outage(d, False)  # the venue is back before the delay ran out: the exit must not wait
    ev = d.event("BTC-USD")
    eng._act(ev, [Intent("BTC-USD", "buy", "entry", qty=0.05, urgent=True)])
    assert eng.skips.get("state_backoff") == 1 and not eng.working  # no new entry
    eng._act(ev, [Intent("BTC-USD", "sell", "exit", close=True, urgent=True)])
    d.step(1, dt=0.1)
    assert d.position("MR_v1") == 0  # the exit went out and filled


def _quotes_mr_v2() -> str:
    # on quotes (no venue history to pre-seed from), warming over six market changes
    return variant_yaml("MR_v2").replace("window: 2", "window: 6").replace("{bars: 1m}", "{quotes: true}")


def _advance(d: Desk, n: int) -> None:
    for _ in range(n):
        d.sim.advance(1)
        d.step(1)


def _warming_mr_v2(d: Desk) -> None:
    text = _quotes_mr_v2()
    (d.home / "strategies.d" / "MR_v2.yaml").write_text(text)
    d.rt.rescan = True
    d.step(1)
    assert d.ledger.state("MR_v2").state == "warming"  # type: ignore[union-attr]


def _shown(d: Desk, vid: str) -> dict:  # type: ignore[type-arg]
    from runner.cli.views import status_view

    return next(v for v in status_view(d.ledger)["variants"] if v["id"] == vid)


def test_pause_of_a_warming_variant_is_recorded_and_applied_when_warm(tmp_path) -> None:
    # SPEC, Lifecycle: "a pending or warming variant becomes paused when warm". It used to pause
    # at once, so a resume before warm made active a strategy without its history.
    d = Desk.create(tmp_path)
    _warming_mr_v2(d)
    row = control.pause(d.ledger, "MR_v2", "not yet")
    assert (row.from_state, row.to_state, row.actor) == ("warming", "warming", "operator")
    shown = _shown(d, "MR_v2")
    assert shown["state"] == "warming" and shown["pause_requested"]
    assert "applied when warm: not yet" in shown["detail"]
    eng = d.rt.engines["MR_v2"]
    _advance(d, 1)
    assert not eng.strategy.warm and eng.state is State.WARMING  # still warming, not paused yet
    _advance(d, 10)
    assert eng.strategy.warm and eng.state is State.PAUSED  # warm, and paused at once
    assert _states(d, "MR_v2")[-2:] == ["active", "paused"]
    last = d.ledger.transitions("MR_v2")[-1]
    assert last.actor == "operator" and "not yet" in last.detail
    assert not _shown(d, "MR_v2")["pause_requested"]
    control.resume(d.ledger, "MR_v2")
    d.step(1)
    assert eng.state is State.ACTIVE


def test_a_resume_before_warm_withdraws_the_pause(tmp_path) -> None:
    d = Desk.create(tmp_path)
    _warming_mr_v2(d)
    control.pause(d.ledger, "MR_v2")
    control.resume(d.ledger, "MR_v2")
    assert not _shown(d, "MR_v2")["pause_requested"]
    _advance(d, 10)
    assert d.rt.engines["MR_v2"].state is State.ACTIVE


def test_a_pause_given_while_pending_holds_through_start_and_warm_up(tmp_path) -> None:
    from runner.engine.deploy import scan

    d = Desk.create(tmp_path)
    (d.home / "strategies.d" / "MR_v2.yaml").write_text(_quotes_mr_v2())
    scan(d.home / "strategies.d", d.ledger, d.venues)  # recorded pending, not started yet
    assert control.pause(d.ledger, "MR_v2", "hold").to_state == "pending"
    d.rt.adoption.spawn(d.ledger.deployment("MR_v2"), State.PENDING)  # type: ignore[arg-type]
    assert d.rt.engines["MR_v2"].state is State.WARMING
    shown = _shown(d, "MR_v2")
    assert shown["state"] == "warming" and shown["pause_requested"]  # the start row did not hide it
    _advance(d, 10)
    assert d.rt.engines["MR_v2"].state is State.PAUSED


def test_pause_from_backoff_and_pending(tmp_path) -> None:
    d = Desk.create(tmp_path)
    _outage(d, True)
    d.step(1)
    assert control.pause(d.ledger, "MR_v1").from_state == "backoff"
    d.step(1)
    assert d.rt.engines["MR_v1"].state is State.PAUSED


def test_retire_of_a_pending_variant_does_not_crash_the_runner(tmp_path) -> None:
    d = Desk.create(tmp_path)
    (d.home / "strategies.d" / "MR_v2.yaml").write_text(variant_yaml("MR_v2"))
    from runner.engine.deploy import scan

    scan(d.home / "strategies.d", d.ledger, d.venues)  # the runner recorded it pending...
    dep = d.ledger.deployment("MR_v2")
    control.retire(d.ledger, "MR_v2")  # ...and the operator retired it before it started
    d.rt.adoption.spawn(dep, State.PENDING)  # type: ignore[arg-type]  # the runner read "pending" just before
    assert d.rt.engines["MR_v2"].state is State.RETIRING
    d.step(2)
    assert _states(d, "MR_v2") == ["retiring", "retired"]


def test_retire_keeps_trying_quietly_and_abandon_ends_it_for_good(tmp_path) -> None:
    d = Desk.create(tmp_path, runner_yaml=BACKOFF)
    lines = Lines()
    d.rt.reporter = lines
    d.trade("MR_v1", "buy", "0.05")
    _outage(d, True)
    control.retire(d.ledger, "MR_v1")
    d.step(16, dt=0.25)  # 4 s of an unreachable venue
    tries = [x for x in lines.lines if "retiring: attempt" in x]
    assert 2 <= len(tries) <= 4, lines.lines  # one line per attempt, not one per tick
    assert "next in 1s" in tries[0] and "next in 2s" in tries[1]
    assert d.ledger.state("MR_v1").state == "retiring"  # type: ignore[union-attr]
    row = control.abandon(d.ledger, "MR_v1", "venue down for hours")
    assert (row.to_state, row.reason, row.actor) == ("retired", "abandon", "operator")
    assert "exposure left: 0.05 BTC-USD" in row.detail
    d.step(1)
    assert d.rt.engines["MR_v1"].state is State.RETIRED
    # its exposure stays a standing finding until the venue confirms flat
    _outage(d, False)
    led = read_ledger(d.ledger)
    found = retired_flat(led, gather_venues(led, d.venues, adapter_factory(d.venues, d.home)))
    assert [(f.variant, f.evidence["qty"]) for f in found] == [("MR_v1", Decimal("0.05"))]
    # the operator closes it on the venue by hand: the venue confirms flat, the finding clears,
    # and the ledger's leftover is not a ledger-vs-venue breach (nobody live is quarantined)
    other = adapter_factory(d.venues, d.home)("sim")
    book = other.book("BTC-USD")
    other.submit(OrderRequest("by-hand-1", "BTC-USD", Side.SELL, Decimal("0.05"), OrderType.LIMIT,
                              Decimal(str(round(book.bids[0][0] * 0.99, 2))), TimeInForce.IOC))
    other.close()
    led = read_ledger(d.ledger)
    venues = gather_venues(led, d.venues, adapter_factory(d.venues, d.home))
    assert retired_flat(led, venues) == [] and ledger_vs_venue(led, venues) == []
    # a restart never resurrects it
    d.rt.stop()
    rt2 = Runtime(d.home, d.ledger, load_venues(d.home), load_runner_config(d.home), clock=lambda: d.now)
    rt2.start()
    rt2.step()
    assert "MR_v1" not in rt2.engines and d.ledger.state("MR_v1").state == "retired"  # type: ignore[union-attr]
    rt2.stop()


def test_a_variant_whose_venue_cannot_be_reached_says_so_quietly_and_can_be_removed(tmp_path, monkeypatch) -> None:
    from runner.ledger.store import Ledger, default_url
    from tests.kit.home import SIM_MANUAL, make_home

    # a Hyperliquid account pointed at a port where nothing listens (the real SDK, no network)
    monkeypatch.setenv("HL_K", "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
    monkeypatch.setenv("HL_A", "0x0000000000000000000000000000000000000001")
    venues = SIM_MANUAL + ("hl:\n  adapter: hyperliquid\n  testnet: true\n  url: http://127.0.0.1:9\n"
                           "  credentials: {secret_key: HL_K, account_address: HL_A}\n")
    home = make_home(tmp_path / "desk", venues, variants={"X_v1": variant_yaml("X_v1", ("BTC",), venue="hl")}).path
    (home / "state").mkdir(exist_ok=True)
    now = [1000.0]
    ledger = Ledger(default_url(home))
    lines = Lines()
    rt = Runtime(home, ledger, load_venues(home), load_runner_config(home), reporter=lines, clock=lambda: now[0])
    rt.start()
    for _ in range(16):  # 8 s
        now[0] += 0.5
        rt.step()
    tries = [x for x in lines.lines if x.startswith("X_v1: cannot start")]
    assert [t.split("(")[1].split(")")[0] for t in tries] == [
        "attempt 1, next in 1s", "attempt 2, next in 2s", "attempt 3, next in 4s", "attempt 4, next in 8s"]
    (home / "strategies.d" / "X_v1.yaml").unlink()  # removing its file retires it, engine or not
    rt.rescan = True
    rt.step()
    assert ledger.state("X_v1").state == "retiring"  # type: ignore[union-attr]
    control.abandon(ledger, "X_v1", "venue gone")
    now[0] += 60
    rt.step()
    assert ledger.state("X_v1").state == "retired" and "X_v1" not in rt.engines  # type: ignore[union-attr]
    n = len(lines.lines)
    now[0] += 120
    rt.step()
    assert len(lines.lines) == n  # retired: nobody tries to start it again
    rt.stop()

