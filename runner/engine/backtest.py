"""Backtests: recorded data through the same engine, strategy and risk code as paper and live.

The venue is :class:`ReplayVenue` (the sim's matching, in memory); ledger writes are batched
(see ``sink.BatchSink``); the run is stored under its own run id, its variant under
``<id>@<run_id>`` so it never collides with the deployed one.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.engine.binary_netting import book_netted_pairs
from runner.engine.client_ids import BACKTEST_PREFIX
from runner.engine.kind_stats import kind_extra
from runner.engine.lifecycle_driver import LifecycleDriver
from runner.engine.metrics import EquityStats
from runner.engine.report_metrics import backtest_metrics
from runner.engine.sink import BatchSink
from runner.engine.variant import VariantEngine
from runner.errors import BadInputError
from runner.kinds.base import MarketEvent
from runner.kinds.registry import get_kind
from runner.ledger.models import Deployment
from runner.ledger.order_states import fill_from_report
from runner.ledger.store import Ledger
from runner.lifecycle import Action, State, Trigger, respond
from runner.marketdata.binding import open_streams
from runner.marketdata.timestamps import to_iso
from runner.spec.deployment_config import VenuesConfig
from runner.spec.load import LoadedVariant
from venues.base import Instrument
from venues.sim.replay import ReplayVenue

GENERIC = dict(tick_size=Decimal("0.01"), lot_size=Decimal("0.00000001"), min_size=Decimal("0.00000001"),
               min_notional=Decimal("1"), maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0005"))


@dataclass
class BacktestResult:
    run_id: str
    variant: str
    metrics: dict[str, Any]
    skips: dict[str, int]
    trades: list[dict[str, Any]]
    bars: int
    fills: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        # `trades` holds the latest TRIPS_KEPT round trips (metrics.trades counts all of them);
        # every fill of the run is in the ledger under `run_id`.
        return {"variant": self.variant, "run_id": self.run_id, "bars": self.bars, "fills": self.fills,
                "metrics": self.metrics, "skips": self.skips, "trades": self.trades,
                "trades_listed": len(self.trades), **self.extra}


def backtest_instruments(loaded: LoadedVariant, venues: VenuesConfig | None, home: Path = Path(".")
                         ) -> dict[str, Instrument]:
    """Precision and fees the account knows offline (the sim's settings), else generic."""
    from runner.engine.accounts import account_config
    from venues.registry import offline_instruments

    known: Mapping[str, Instrument] = {}
    if venues is not None and loaded.spec.venue in venues.accounts:
        known = offline_instruments(account_config(loaded.spec.venue, venues, home))
    return {sym: known.get(sym) or Instrument(sym, **GENERIC) for sym in loaded.spec.instruments}  # type: ignore[arg-type]


def bind_streams(loaded: LoadedVariant, data: list[str]) -> list[tuple[str, Path]]:
    """``--data FILE`` binds to the variant's first instrument; ``--data INSTRUMENT=FILE`` to one."""
    out = []
    for item in data:
        inst, sep, path = item.partition("=")
        if sep and inst in loaded.spec.instruments:
            out.append((inst, Path(path)))
        elif sep and not Path(item).exists():
            raise BadInputError(
                f"--data {item}: {inst!r} is not an instrument of {loaded.id} "
                f"(it trades {', '.join(loaded.spec.instruments)})"
            )
        else:
            out.append((loaded.spec.instruments[0], Path(item)))
    return out


def merged(streams: list[Iterator[MarketEvent]]) -> Iterable[MarketEvent]:
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda e: e.ts)


def run_backtest(loaded: LoadedVariant, data: list[tuple[str, Path]], ledger: Ledger,
                 venues: VenuesConfig | None = None, capital: float = 100_000.0, *,
                 on_decision: Callable[[MarketEvent, object, Any], None] | None = None,
                 seed_until: float | None = None,
                 clip: Callable[[Iterator[MarketEvent]], Iterator[MarketEvent]] | None = None) -> BacktestResult:
    """``seed_until``: events up to this time only fill the strategy's windows (a recorded
    session's warm-up history); ``on_decision`` sees every decision (parity); ``clip`` narrows
    the merged events to a period (a sweep's in-sample or out-of-sample part)."""
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    run_id = f"{BACKTEST_PREFIX}{uuid.uuid4().hex[:12]}"
    key = f"{loaded.id}@{run_id}"
    streams = open_streams(loaded, kind, data)  # sniffs headers: a file the variant cannot use fails here
    ledger.ensure_run(run_id, "backtest", loaded.id)
    ledger.record_deployment(
        Deployment(variant=key, name=loaded.spec.name, version=loaded.spec.version, kind=loaded.spec.kind,
                   venue=loaded.spec.venue, mode="backtest", content_hash=loaded.content_hash,
                   yaml_text=loaded.yaml_text, path=str(loaded.path)),
        State.PENDING.value,
    )
    try:
        return _replay(loaded, data, ledger, venues, capital, run_id, key, streams, on_decision, seed_until, clip)
    except BadInputError:
        ledger.discard_backtest(run_id, key)
        raise


def _replay(loaded: LoadedVariant, data: list[tuple[str, Path]], ledger: Ledger, venues: VenuesConfig | None,
            capital: float, run_id: str, key: str, streams: list[Iterator[MarketEvent]],
            on_decision: Callable[[MarketEvent, object, Any], None] | None = None, seed_until: float | None = None,
            clip: Callable[[Iterator[MarketEvent]], Iterator[MarketEvent]] | None = None) -> BacktestResult:
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    venue = ReplayVenue(loaded.spec.venue, backtest_instruments(loaded, venues))
    sink = BatchSink(ledger)  # starts the writer process: closed below whatever happens
    try:
        engine = VariantEngine(loaded, kind(loaded.params, loaded.spec.instruments), venue, sink, run_id,
                               State.PENDING, 1, variant_key=key)
        engine.booked = []  # funding and settlement cashflows the engine books, for the equity curve
        engine.quiet_acks = True
        life = LifecycleDriver(ledger, before=sink.flush)
        life.fire(engine, Trigger.START, "backtest_start", f"data: {', '.join(str(p) for _, p in data)}")
        stats = EquityStats(capital)
        qty: dict[str, float] = {}
        events = iter(merged(streams))
        if clip is not None:
            events = clip(events)
        if seed_until is not None:
            events = _seed(engine, events, seed_until)
            if engine.strategy.warm:
                life.fire(engine, Trigger.WARM, "warm", "pre-seeded from the session's warm-up history")
        engine.on_decision = on_decision
        together = len(streams) > 1 or kind.binary  # several instruments (or markets) can share a moment
        if together:
            events = _known_together(events, venue)
        bars, fills, cash = _loop(engine, venue, sink, life, stats, events, run_id, key, capital, qty, together)
    finally:
        sink.close()  # everything written, the writer process gone (also when a data row was bad)
    skips = engine.take_skips()
    ledger.add_skips(run_id, key, skips)
    metrics, trades, open_rows = backtest_metrics(engine, stats, capital)
    extra = {**kind_extra(engine), "open_trades": open_rows}
    result = BacktestResult(run_id, loaded.id, metrics, skips, trades, bars, fills, extra)
    ledger.finish_run(run_id, {"metrics": metrics, "skips": skips, "bars": bars, "fills": fills})
    return result


def _seed(engine: VariantEngine, events: Iterator[MarketEvent], until: float) -> Iterator[MarketEvent]:
    """Hand the events up to ``until`` to the strategy alone, as a live start's warm-up does."""
    for ev in events:
        if ev.ts > until:
            return itertools.chain((ev,), events)
        engine.strategy.on_event(ev, {})
    return iter(())


def _known_together(events: Iterable[MarketEvent], venue: ReplayVenue) -> Iterator[MarketEvent]:
    """Events of one moment (several instruments' bars closing together, several markets in one
    file) are known together: each reaches the venue, so the orders waiting for any of them
    fill, before the strategy sees the first, as a live loop reads every venue step's outcomes
    before it decides. ``_loop`` then does not hand them to the venue again."""
    group: list[MarketEvent] = []
    for ev in events:
        if group and ev.ts != group[0].ts:
            yield from _to_venue(group, venue)
            group = []
        group.append(ev)
    yield from _to_venue(group, venue)


def _to_venue(group: list[MarketEvent], venue: ReplayVenue) -> list[MarketEvent]:
    for ev in group:
        if ev.bid > 0:
            venue.set_market(ev.ts, ev.instrument, ev.bid, ev.ask, ev.bid_sizes, ev.ask_sizes, ev.extra, ev.open,
                             ev.bid_prices, ev.ask_prices)
    return group


def _handle_troubles(engine: VariantEngine, life: LifecycleDriver) -> None:
    troubles, engine.troubles = engine.troubles, []
    for t in troubles:
        resp = respond(engine.state, t.error.error_class)  # the runtime's policy, replayed
        if resp.action in (Action.BACKOFF, Action.COUNT, Action.QUARANTINE):
            # no wall clock to back off against and no counter across a replay: quarantine
            life.fire(engine, Trigger.QUARANTINE, t.error.error_class.value, t.detail)


def _apply_booked(engine: VariantEngine, qty: dict[str, float]) -> float:
    """Cash change of the cashflows the engine booked (funding, settlement); moves ``qty``."""
    delta = 0.0
    for nf in engine.take_booked():
        k = float(engine.unit_scale(nf.instrument))  # cents-quoted legs count in the account's currency
        signed = float(nf.qty) * (1 if nf.side == "buy" else -1) * k
        qty[nf.instrument] = qty.get(nf.instrument, 0.0) + signed
        delta -= signed * float(nf.price) + float(nf.fee) * k
    return delta


def _held(qty: dict[str, float]) -> list[tuple[str, float]]:
    """The open quantities the equity curve marks (recomputed only when a fill moves one)."""
    return [(s, q) for s, q in qty.items() if q]


def _loop(engine: VariantEngine, venue: ReplayVenue, sink: BatchSink, life: LifecycleDriver, stats: EquityStats,
          events: Iterable[MarketEvent], run_id: str, key: str, cash: float, qty: dict[str, float],
          together: bool = False) -> tuple[int, int, float]:
    """The replay itself: kept tight, it runs once per recorded event."""
    fills = 0
    bars = 0
    strategy = engine.strategy
    set_market = venue.set_market
    on_event = engine.on_event
    update = stats.update
    flat = stats.flat
    marks = engine.marks
    warming = State.WARMING
    held: list[tuple[str, float]] = []  # the nonzero entries of ``qty``: what the equity marks
    fscale: dict[str, float] = {}  # account-currency value of a quote unit, per instrument
    nets = strategy.binary  # YES+NO pairs the venue netted are booked as cash (binary kinds only)
    for ev in events:
        bars += 1
        if ev.bid <= 0:  # a stream without prices (funding, a settlement): the strategy still sees it
            if nets and "settled_id" in ev.extra:
                venue.settle(ev.instrument, ev.extra)  # the venue pays the legs out (the engine books it)
            on_event(ev)
            if engine.booked:
                cash += _apply_booked(engine, qty)
                held = _held(qty)
            continue
        # orders decided on earlier events reach the venue now: they fill on this event (a bar's
        # open, a book level by level), and the strategy sees the outcome before it decides again
        if not together:  # else `_known_together` handed it over with its moment's other events
            set_market(ev.ts, ev.instrument, ev.bid, ev.ask, ev.bid_sizes, ev.ask_sizes, ev.extra, ev.open,
                       ev.bid_prices, ev.ask_prices)
        if venue._reports:
            for rep in venue.take_reports():
                engine.on_report(rep)
        if venue._fills:
            for f in venue.fills().fills:
                nf = fill_from_report(f, account=venue.account, run_id=run_id, variant=key,
                                      group=engine.groups.by_cid.get(f.client_order_id or ""), backtest=True)
                sink.fill(nf)
                engine.on_fill(nf)
                k = fscale.get(f.instrument)  # qty in account units: marks stay in quote units
                if k is None:
                    k = fscale[f.instrument] = float(engine.unit_scale(f.instrument))
                signed = float(f.qty) * f.side.sign * k
                qty[f.instrument] = qty.get(f.instrument, 0.0) + signed
                cash -= signed * float(f.price) + float(f.fee) * k
                fills += 1
            if nets:  # as the runtime does once it read the fills: the pairs are cash on the venue
                for nf in book_netted_pairs(engine, f.ts):
                    k = fscale.get(nf.instrument) or float(engine.unit_scale(nf.instrument))
                    signed = -float(nf.qty) * k
                    qty[nf.instrument] = qty.get(nf.instrument, 0.0) + signed
                    cash -= signed * float(nf.price)
            held = _held(qty)
        on_event(ev)
        if engine.booked:
            cash += _apply_booked(engine, qty)
            held = _held(qty)
        if engine.troubles:
            _handle_troubles(engine, life)
        if engine.state is warming and strategy.warm:
            life.fire(engine, Trigger.WARM, "warm", f"warm at {to_iso(ev.ts)}")
        if held:
            eq = cash
            for sym, q in held:
                eq += q * marks.get(sym, 0.0)
            update(ev.ts, eq, True)
        else:
            flat(ev.ts, cash)
    return bars, fills, cash
