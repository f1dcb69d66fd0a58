"""The order status vocabulary, owned here once: what an order's ledger status can be, which
statuses are open, which moves real venues produce (race edges included), the fill key, and
the one constructor from a venue's fill report to a ledger fill.

An order's status is the status of its latest event (``order_events``). The venue-facing part
(``OrderStatus``: what an adapter reports) lives in ``venues/base.py``; every venue status is a
ledger status of the same name, and the venue's open ones (new, partially filled) are open here.
Used by the runtime, the backtest, the audits and the CLI views.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.ledger.store import NewFill
from venues.base import FillReport, OrderStatus

# written by us
SUBMITTING = "submitting"  # the order row is durable; the send has not been answered yet
UNKNOWN = "unknown"  # the send was ambiguous and the venue did not know the client id yet
RESOLVED = "resolved"  # found on the venue by client id after an ambiguous send
SEND_FAILED = "send_failed"  # refused before it left (transient: nothing reached the venue)
NOT_SENT = "not_sent"  # never reached the venue (looked up by client id, not there)
DATA_ANOMALY = "data_anomaly"  # the venue reports a filled size that is off (flag, fills stand)
# reported by the venue (``OrderStatus``)
NEW, PARTIAL, FILLED = OrderStatus.NEW.value, OrderStatus.PARTIALLY_FILLED.value, OrderStatus.FILLED.value
CANCELLED, REJECTED = OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value
# a fill read after the order was recorded closed unfilled (see TRANSITIONS)
FILLED_AFTER_CANCELLED, FILLED_AFTER_REJECTED = f"filled_after_{CANCELLED}", f"filled_after_{REJECTED}"

#: the one open set: the order may still trade, so it holds its instrument and is looked up
OPEN: frozenset[str] = frozenset({SUBMITTING, NEW, PARTIAL, UNKNOWN, RESOLVED})

_VENUE_END = frozenset({FILLED, CANCELLED, REJECTED})
_VENUE = frozenset({NEW, PARTIAL}) | _VENUE_END

#: status -> the statuses its next event may carry. A repeated report (same status) is always
#: allowed: the poll reports what the venue says, changed or not.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    SUBMITTING: _VENUE | {UNKNOWN, RESOLVED, SEND_FAILED, NOT_SENT},
    # ambiguous: the status poll looks it up again until the venue knows it or it is declared unsent
    UNKNOWN: _VENUE | {RESOLVED, NOT_SENT},
    RESOLVED: _VENUE,
    NEW: _VENUE | {DATA_ANOMALY},
    # partial fills accumulate; a venue can also report new again while a fill is in flight
    PARTIAL: _VENUE | {DATA_ANOMALY},
    FILLED: frozenset({DATA_ANOMALY}),
    DATA_ANOMALY: _VENUE | {DATA_ANOMALY},
    # Race: the venue matched the order before our cancel reached it, and its fill is read after
    # the cancel's answer (Hyperliquid and OKX publish fills apart from order status; Kalshi's
    # DELETE answers with what was left). The fill stands; the history says so.
    CANCELLED: frozenset({FILLED_AFTER_CANCELLED, FILLED}),
    # Race: an IOC reported rejected/expired whose partial fill arrives later (OKX "canceled"
    # IOC remainders with fills; a reject answer racing a match).
    REJECTED: frozenset({FILLED_AFTER_REJECTED, FILLED}),
    FILLED_AFTER_CANCELLED: frozenset({FILLED_AFTER_CANCELLED}),
    FILLED_AFTER_REJECTED: frozenset({FILLED_AFTER_REJECTED}),
    SEND_FAILED: frozenset(),
    NOT_SENT: frozenset({NOT_SENT}),
}
STATUSES: frozenset[str] = frozenset(TRANSITIONS)
assert frozenset({s.value for s in OrderStatus if s.is_open}) <= OPEN


def is_open(status: str | None) -> bool:
    return status in OPEN


def can_move(current: str, to: str) -> bool:
    """Whether an order recorded ``current`` may next record ``to``."""
    return to == current or to in TRANSITIONS.get(current, frozenset())


def filled_after(status: str | None) -> str | None:
    """The event that marks a fill read after the order was recorded closed unfilled."""
    return f"filled_after_{status}" if status in (CANCELLED, REJECTED) else None


def fill_key(account: str, fill_id: str, run_id: str | None = None) -> str:
    """Unique per account and venue trade; a backtest's fills also carry their run."""
    return f"{account}:{run_id}:{fill_id}" if run_id is not None else f"{account}:{fill_id}"


def fill_from_report(f: FillReport, *, account: str, run_id: str, variant: str, group: str | None = None,
                     flag: str | None = None, backtest: bool = False) -> NewFill:
    """The ledger fill of one venue fill report (the only place one is built)."""
    return NewFill(fill_key(account, f.fill_id, run_id if backtest else None), f.client_order_id, run_id, variant,
                   account, f.instrument, f.side._value_, f.qty, f.price, f.fee, f.ts, f.liquidity, group, flag)
