"""Ledger tables. Append-only where history matters: transitions, order events, fills.

Current state that is read often (variant state, positions) is materialized in the same
transaction as the rows it derives from, so audits can recompute and compare.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from runner.ledger.types import DecimalText, utcnow
from runner.ledger.version import MAIN_RUN, SCHEMA_VERSION  # noqa: F401 - re-exported; bump it there


def _dec(**kw):  # type: ignore[no-untyped-def]
    return Field(sa_column=Column(DecimalText(), **kw))


def _ts(**kw):  # type: ignore[no-untyped-def]
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), **kw))


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "schema_version"
    id: int = Field(default=1, primary_key=True)
    version: int


class Deployment(SQLModel, table=True):
    """One deployed variant version: its identity is the content hash of its YAML."""

    __tablename__ = "deployments"
    variant: str = Field(primary_key=True)
    name: str
    version: int
    kind: str
    venue: str
    mode: str
    content_hash: str
    yaml_text: str = Field(sa_column=Column(Text, nullable=False))
    path: str
    deployed_at: datetime = _ts(nullable=False)


class SpecErrorRow(SQLModel, table=True):
    """A file in strategies.d that failed to deploy; cleared when the file is fixed or removed."""

    __tablename__ = "spec_errors"
    file: str = Field(primary_key=True)
    message: str = Field(sa_column=Column(Text, nullable=False))
    ts: datetime = _ts(nullable=False)


class VariantState(SQLModel, table=True):
    """Current lifecycle state: always equal to the last transition row of the variant."""

    __tablename__ = "variant_state"
    variant: str = Field(primary_key=True)
    state: str
    reason: str
    detail: str = ""
    since: datetime = _ts(nullable=False)
    last_transition: int = 0
    owner: str | None = None  # runner id holding the lease (PostgreSQL deployments)
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    epoch: int | None = None  # fencing token: +1 each time another runner takes the lease


class Transition(SQLModel, table=True):
    __tablename__ = "transitions"
    id: int | None = Field(default=None, primary_key=True)
    variant: str = Field(index=True)
    from_state: str
    to_state: str
    trigger: str
    reason: str  # reason class: operator, transient, rejected, ... or a system reason
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    actor: str  # operator | system | schedule
    ts: datetime = _ts(nullable=False)


class Run(SQLModel, table=True):
    __tablename__ = "runs"
    run_id: str = Field(primary_key=True)
    kind: str  # main | backtest
    variant: str | None = None
    started: datetime = _ts(nullable=False)
    ended: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    summary: str | None = Field(default=None, sa_column=Column(Text))  # JSON


class Order(SQLModel, table=True):
    """An order as decided; written (and committed) before it is sent. Never updated."""

    __tablename__ = "orders"
    # one composite index serves (run), (run, variant): fewer B-trees per order on the hot path
    __table_args__ = (Index("ix_orders_run_variant", "run_id", "variant"),)
    id: int | None = Field(default=None, primary_key=True)
    client_order_id: str = Field(unique=True)
    run_id: str
    variant: str
    seq: int
    account: str
    instrument: str
    side: str
    qty: Decimal = _dec(nullable=False)
    price: Decimal | None = _dec(nullable=True)
    order_type: str
    tif: str
    purpose: str  # entry | exit | stop_loss | time_stop | quote | flatten | close_dust
    group_id: str | None = None
    reduce_only: bool = False
    created: datetime = _ts(nullable=False)
    intent_id: str | None = None  # first order of a logical intent (maker reprices share it)


class OrderEvent(SQLModel, table=True):
    """Order status history; the status of an order is its last event."""

    __tablename__ = "order_events"
    id: int | None = Field(default=None, primary_key=True)
    client_order_id: str = Field(index=True)
    status: str  # submitting | new | partially_filled | filled | cancelled | rejected | not_sent
    venue_order_id: str | None = None
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    ts: datetime = _ts(nullable=False)


class OrderHandover(SQLModel, table=True):
    """An open order a promotion (``runner promote OLD NEW``) handed to another variant with the
    position it closes: the order row keeps who placed it; its fills, status polls and restarts
    belong to ``to_variant``. A new table, created on open (no migration step)."""

    __tablename__ = "order_handovers"
    client_order_id: str = Field(primary_key=True)
    from_variant: str  # who placed it
    to_variant: str = Field(index=True)  # who owns it now
    ts: datetime = _ts(nullable=False)


class Fill(SQLModel, table=True):
    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("fill_key", name="uq_fill_key"),
                      Index("ix_fills_run_variant", "run_id", "variant"))
    id: int | None = Field(default=None, primary_key=True)
    fill_key: str  # account + venue fill id: a fill is applied once
    client_order_id: str | None = Field(default=None, index=True)
    run_id: str
    variant: str
    account: str
    instrument: str
    side: str
    qty: Decimal = _dec(nullable=False)
    price: Decimal = _dec(nullable=False)
    fee: Decimal = _dec(nullable=False)
    liquidity: str = "taker"
    group_id: str | None = None
    flag: str | None = None  # data_anomaly and the like
    ts: datetime = _ts(nullable=False)


class Position(SQLModel, table=True):
    """Materialized from fills in the same transaction; audits recompute it from fills."""

    __tablename__ = "positions"
    run_id: str = Field(primary_key=True)
    variant: str = Field(primary_key=True)
    instrument: str = Field(primary_key=True)
    account: str
    qty: Decimal = _dec(nullable=False)
    avg_price: Decimal = _dec(nullable=False)
    realized_pnl: Decimal = _dec(nullable=False)
    fees: Decimal = _dec(nullable=False)
    last_price: Decimal | None = _dec(nullable=True)
    opened: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    updated: datetime = _ts(nullable=False)


class SkipCount(SQLModel, table=True):
    """Why a variant did not act, counted per reason (one row per run, variant and reason)."""

    __tablename__ = "skips"
    run_id: str = Field(primary_key=True)
    variant: str = Field(primary_key=True)
    reason: str = Field(primary_key=True)
    count: int = 0
    last_ts: datetime = _ts(nullable=False)


class EquitySnapshot(SQLModel, table=True):
    __tablename__ = "equity"
    __table_args__ = (Index("ix_equity_run_variant_ts", "run_id", "variant", "ts"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str
    variant: str
    ts: datetime = _ts(nullable=False)
    equity: Decimal = _dec(nullable=False)
    realized: Decimal = _dec(nullable=False)
    unrealized: Decimal = _dec(nullable=False)


class Cursor(SQLModel, table=True):
    """Where reading a venue's fills got to, per account."""

    __tablename__ = "cursors"
    account: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    value: str | None = None


class Heartbeat(SQLModel, table=True):
    __tablename__ = "heartbeats"
    runner_id: str = Field(primary_key=True)
    host: str
    pid: int
    ts: datetime = _ts(nullable=False)
    market_ts: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class InstrumentRow(SQLModel, table=True):
    """Venue precision as last loaded by a runner, so offline commands can judge dust."""

    __tablename__ = "instruments"
    account: str = Field(primary_key=True)
    symbol: str = Field(primary_key=True)
    kind: str = "spot"
    tick_size: Decimal = _dec(nullable=False)
    lot_size: Decimal = _dec(nullable=False)
    min_size: Decimal = _dec(nullable=False)
    min_notional: Decimal = _dec(nullable=False)
    maker_fee: Decimal = _dec(nullable=False)
    taker_fee: Decimal = _dec(nullable=False)
    updated: datetime = _ts(nullable=False)
    # the venue waives its minimum for a reduce-only full close (Hyperliquid's $10): such a
    # position is not dust offline either (None: recorded before this column existed)
    close_waives_minimum: bool | None = None


class MarkRow(SQLModel, table=True):
    """The last mid a runner saw per instrument (and its quote unit), so `status` and
    `positions` mark open positions at the market, never at the last fill price."""

    __tablename__ = "marks"
    account: str = Field(primary_key=True)
    instrument: str = Field(primary_key=True)
    quote: str = "USD"
    mid: Decimal = _dec(nullable=False)
    ts: datetime = _ts(nullable=False)


class AuditRun(SQLModel, table=True):
    """One execution of audit checks (CLI, cron or reconcile); findings point at their runs."""

    __tablename__ = "audit_runs"
    id: int | None = Field(default=None, primary_key=True)
    checks: str = Field(sa_column=Column(Text, nullable=False))  # comma-separated check names
    actor: str  # operator | schedule
    started: datetime = _ts(nullable=False)
    finished: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    findings: int = 0


class FindingRow(SQLModel, table=True):
    """An audit finding over time: a persisting finding is updated, a cleared one closed.

    ``key`` is the finding's identity across runs (check, variant, subject); at most one row
    per key is open (``closed`` is NULL). A finding that comes back after closing gets a new row.
    """

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_key_closed", "key", "closed"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    check: str = Field(index=True)
    severity: str
    variant: str | None = None
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    runbook: str = ""
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    first_seen: datetime = _ts(nullable=False)
    last_seen: datetime = _ts(nullable=False)
    closed: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    first_run: int | None = None
    last_run: int | None = None
    seen: int = 1  # how many runs reported it
    alerted: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class GuardState(SQLModel, table=True):
    """A global guard (kill switch, blackout, exposure cap): while active, entries stop where it says."""

    __tablename__ = "guards"
    name: str = Field(primary_key=True)  # daily_drawdown | blackout | exposure:<group>
    active: bool
    reason: str = Field(sa_column=Column(Text, nullable=False))
    release: str  # operator | automatic
    since: datetime = _ts(nullable=False)


class GuardEvent(SQLModel, table=True):
    __tablename__ = "guard_events"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    active: bool
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str
    ts: datetime = _ts(nullable=False)


class StreamEventRow(SQLModel, table=True):
    """What happened to an account's venue stream (connected, gap, resync, stale, reconnect...),
    drained from the adapter by the runner; the freshness audit reads them."""

    __tablename__ = "stream_events"
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    kind: str
    channel: str = ""
    instrument: str = ""
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    ts: datetime = _ts(nullable=False, index=True)


class StreamStatusRow(SQLModel, table=True):
    """Each account's stream state and request-budget use, as the running runner last saw them
    (written every second; ``runner status`` reads it from another process)."""

    __tablename__ = "stream_status"
    account: str = Field(primary_key=True)
    runner_id: str
    state: str  # connected | reconnecting | stale | polling | off
    down_since: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # JSON: budget, counts
    ts: datetime = _ts(nullable=False)
