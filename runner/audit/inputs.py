"""What the checks read: a snapshot of the ledger and typed reports from each venue account.

Gathering does all the I/O; the checks are pure functions of these two values. Audits get
their own adapters (never the running loop's) and never ask for a book: that would move the
sim's market.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection

from runner.audit import thresholds
from runner.errors import BudgetError, RunnerError
from runner.ledger import models as m
from runner.ledger.instruments import recorded_instruments
from runner.ledger.order_states import OPEN as OPEN_STATUSES
from runner.ledger.store import Ledger
from runner.ledger.types import utcnow
from runner.spec.deployment_config import VenuesConfig
from venues.base import FillReport, Instrument, OrderReport, PositionReport, VenueAdapter

ZERO = Decimal(0)


@dataclass(frozen=True)
class Settings:
    """Bands and grace periods of the checks (defaults suit the sim and most venues)."""

    stale_data_s: float = thresholds.STALE_DATA_S
    heartbeat_stale_s: float = thresholds.HEARTBEAT_STALE_S
    stream_down_s: float = 60.0  # a venue stream down (REST polling meanwhile) longer than this is a finding
    stream_window_s: float = 600.0  # gaps and resyncs of this recent past are reported (information)
    order_grace_s: float = thresholds.ORDER_GRACE_S  # an order younger than this may still be in flight
    fee_tolerance: Decimal = thresholds.FEE_TOLERANCE  # fraction above the venue's schedule
    slippage_tolerance_bps: Decimal = thresholds.SLIPPAGE_TOLERANCE_BPS  # beyond the variant's own slippage cap


@dataclass(frozen=True)
class LedgerData:
    now: datetime
    positions: list[m.Position]
    fills: list[m.Fill]  # oldest first (by id): the order positions were built in
    orders: dict[str, m.Order]
    status: dict[str, str]  # client order id -> last event status
    states: dict[str, m.VariantState]
    deployments: dict[str, m.Deployment]
    instruments: dict[tuple[str, str], Instrument]
    heartbeats: list[m.Heartbeat]
    cursors: dict[str, str | None]
    settings: Settings = Settings()
    flags: dict[str, dict[str, tuple[int, datetime]]] = field(default_factory=dict)  # variant -> flag -> (n, last)
    streams: dict[str, m.StreamStatusRow] = field(default_factory=dict)  # account -> stream state the runner saw
    stream_events: list[m.StreamEventRow] = field(default_factory=list)  # recent ones, oldest first
    marks: dict[tuple[str, str], tuple[str, Decimal, datetime]] = field(default_factory=dict)  # recorded mids

    @property
    def fill_keys(self) -> set[str]:
        return {f.fill_key for f in self.fills}

    def open_orders(self) -> list[m.Order]:
        return [o for cid, o in self.orders.items() if self.status.get(cid) in OPEN_STATUSES]

    def accounts(self) -> set[str]:
        out = {d.venue for d in self.deployments.values()}
        out |= {p.account for p in self.positions if p.qty}
        out |= {o.account for o in self.open_orders()}
        return out

    def retired(self) -> set[str]:
        return {v for v, s in self.states.items() if s.state == "retired"}

    def abandoned(self) -> set[str]:
        """Retired by ``retire --abandon``: what they hold stands until the venue shows it gone."""
        return {v for v, s in self.states.items() if s.state == "retired" and s.reason == "abandon"}


@dataclass(frozen=True)
class VenueData:
    """One account's reports; ``error`` says why they are missing."""

    account: str
    positions: list[PositionReport] = field(default_factory=list)
    open_orders: list[OrderReport] = field(default_factory=list)
    lookups: dict[str, OrderReport | None] = field(default_factory=dict)  # ledger-open orders by client id
    pending_fills: list[FillReport] = field(default_factory=list)  # after the ledger's cursor
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    error: str | None = None
    nets_binary_legs: bool = False  # the venue nets YES against NO (Kalshi): compare netted
    budget: bool = False  # unread because our own request budget refused (the venue was not asked)


@contextmanager
def snapshot(ledger: Ledger) -> Iterator[Connection]:
    """One read transaction: every query through it sees the ledger at the same moment.

    Positions, fills and cursors are written by the runner while an audit reads them; read
    one by one, a fill applied in between looks like a breach. SQLite (WAL) holds a snapshot
    from the first read after BEGIN; PostgreSQL needs REPEATABLE READ for the same.
    """
    with ledger.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            yield conn
        finally:
            conn.rollback()


def read_ledger(ledger: Ledger, settings: Settings = Settings(), now: datetime | None = None) -> LedgerData:
    """The ledger as the checks see it: orders, fills, positions, states and cursors from one
    consistent snapshot (see :func:`snapshot`). ``now``: the time ages are judged at (the
    agent judges one answer at one time)."""
    from sqlalchemy import func, select

    from runner.ledger.marks import T_MARKS
    from runner.ledger.store import T_CURSORS, T_EVENTS, T_FILLS, T_ORDERS, T_POS, T_SKIPS, T_STATE
    from runner.ledger.streams import T_STREAM_EVENTS, T_STREAM_STATUS

    last = select(T_EVENTS.c.client_order_id, func.max(T_EVENTS.c.id).label("i")).group_by(T_EVENTS.c.client_order_id)
    with snapshot(ledger) as conn:
        q = select(T_ORDERS).where(T_ORDERS.c.run_id == m.MAIN_RUN).order_by(T_ORDERS.c.id)
        orders = {r["client_order_id"]: m.Order(**r) for r in conn.execute(q).mappings()}
        q = select(T_POS).where(T_POS.c.run_id == m.MAIN_RUN).order_by(T_POS.c.variant, T_POS.c.instrument)
        positions = [m.Position(**r) for r in conn.execute(q).mappings()]
        fills = [m.Fill(**r) for r in conn.execute(
            select(T_FILLS).where(T_FILLS.c.run_id == m.MAIN_RUN).order_by(T_FILLS.c.id)).mappings()]
        states = {r["variant"]: m.VariantState(**r) for r in conn.execute(select(T_STATE)).mappings()}
        ids = [r.i for r in conn.execute(last)]
        status = {}
        for chunk in range(0, len(ids), 500):
            q = select(T_EVENTS.c.client_order_id, T_EVENTS.c.status).where(T_EVENTS.c.id.in_(ids[chunk:chunk + 500]))
            status.update({cid: st for cid, st in conn.execute(q)})
        cursors = {a: v for a, n, v in conn.execute(select(T_CURSORS)) if n == "fills"}
        marks = {(r["account"], r["instrument"]): (r["quote"], r["mid"], r["ts"])
                 for r in conn.execute(select(T_MARKS)).mappings()}
        flags: dict[str, dict[str, tuple[int, datetime]]] = {}
        q = select(T_SKIPS).where(T_SKIPS.c.run_id == m.MAIN_RUN, T_SKIPS.c.reason.like("flag\\_%", escape="\\"))
        for r in conn.execute(q).mappings():
            flags.setdefault(r["variant"], {})[r["reason"]] = (r["count"], r["last_ts"])
        streams = {r["account"]: m.StreamStatusRow(**r) for r in conn.execute(select(T_STREAM_STATUS)).mappings()}
        since = (now or utcnow()) - timedelta(seconds=settings.stream_window_s)
        q = select(T_STREAM_EVENTS).where(T_STREAM_EVENTS.c.ts >= since).order_by(T_STREAM_EVENTS.c.id)
        events = [m.StreamEventRow(**r) for r in conn.execute(q).mappings()]
    return LedgerData(
        now=now or utcnow(), positions=positions, fills=fills, orders=orders, status=status, states=states,
        deployments={d.variant: d for d in ledger.deployments() if "@" not in d.variant},
        instruments=recorded_instruments(ledger), heartbeats=ledger.heartbeats(), cursors=cursors, marks=marks,
        settings=settings, flags=flags, streams=streams, stream_events=events,
    )


def late_orders(ledger: Ledger, led: LedgerData, venues: Mapping[str, VenueData]) -> None:
    """Orders written after the snapshot whose fills the venue already shows: add them, so
    those fills count as in flight (ours, not yet read), not as a breach."""
    for vd in venues.values():
        for f in vd.pending_fills:
            cid = f.client_order_id or ""
            if cid and cid not in led.orders and (row := ledger.order_row(cid)) is not None:
                led.orders[cid] = row


AdapterFactory = Callable[[str], VenueAdapter]


def adapter_factory(venues: VenuesConfig, home: Path) -> AdapterFactory:
    """Fresh, connected adapters for audits: their own connections, apart from the loop's."""
    from runner.engine.accounts import account_config
    from venues.registry import create_adapter

    def make(account: str) -> VenueAdapter:
        ad = create_adapter(account_config(account, venues, home))
        ad.connect()
        return ad

    return make


def read_venue(ad: VenueAdapter, led: LedgerData) -> VenueData:
    """Positions, open orders, lookups of ledger-open orders, and fills the ledger has not read."""
    try:
        positions = ad.positions()
        open_orders = ad.open_orders()
        venue_open = {o.client_order_id for o in open_orders}
        lookups = {
            o.client_order_id: ad.order(o.client_order_id, o.instrument)
            for o in led.open_orders() if o.account == ad.account and o.client_order_id not in venue_open
        }
        pending = list(read_fills(ad, led.cursors.get(ad.account)))
        return VenueData(ad.account, positions, open_orders, lookups, pending, ad.instruments(),
                         nets_binary_legs=ad.capabilities.nets_binary_legs)
    except BudgetError as exc:  # our own limit said no: the venue was not asked, nothing failed
        return VenueData(ad.account, error=f"not read this cycle: {exc}", budget=True)
    except (RunnerError, OSError) as exc:
        return VenueData(ad.account, error=f"{type(exc).__name__}: {exc}")


def read_fills(ad: VenueAdapter, cursor: str | None, max_pages: int = 100) -> Iterable[FillReport]:
    """Every fill after ``cursor``, page by page (bounded; never paced as the loop's are)."""
    from venues.streams.feed import every_fill_read

    for _ in range(max_pages):
        with every_fill_read():
            page = ad.fills(cursor)
        yield from page.fills
        if not page.fills or page.cursor == cursor:
            return
        cursor = page.cursor


def gather_venues(led: LedgerData, venues: VenuesConfig, make: AdapterFactory,
                  cache: dict[str, VenueAdapter] | None = None) -> dict[str, VenueData]:
    """Read every account the ledger uses; an account that cannot be read carries an error."""
    out: dict[str, VenueData] = {}
    for account in sorted(led.accounts()):
        if account not in venues.accounts:
            out[account] = VenueData(account, error=f"account {account!r} is not in venues.yaml")
            continue
        try:
            ad = cache.get(account) if cache is not None else None
            if ad is None:
                ad = make(account)
                if cache is not None:
                    cache[account] = ad
        except Exception as exc:  # noqa: BLE001 - any failure to connect is reported, not raised
            out[account] = VenueData(account, error=f"cannot connect: {type(exc).__name__}: {exc}")
            continue
        out[account] = read_venue(ad, led)
        if cache is None:
            ad.close()
    return out


def age_s(led: LedgerData, ts: datetime | None) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        from datetime import UTC

        ts = ts.replace(tzinfo=UTC)
    return (led.now - ts) / timedelta(seconds=1)


def instrument_of(led: LedgerData, venues: Mapping[str, VenueData], account: str, symbol: str) -> Instrument | None:
    vd = venues.get(account)
    if vd is not None and symbol in vd.instruments:
        return vd.instruments[symbol]
    return led.instruments.get((account, symbol))
