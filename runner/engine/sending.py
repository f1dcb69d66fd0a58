"""The one send path from an order request to the venue and back, for the engine and for
``runner close-dust`` alike.

An order's ledger row (``order_row``) is written before the venue hears of it; ``submit``
sends it and classifies the answer the one way: a send whose outcome is unknown (timeout,
dropped connection, 5xx after the request left) is looked up by client order id
(``look_up``), never counted as failed first; nothing left (transient) is ``send_failed``; a
post-only order that would cross is the benign refusal; anything else the venue refused is
``rejected``. What each outcome then does to its caller's state is the caller's (``SendHooks``).
"""

from __future__ import annotations

from typing import Any, Protocol

from runner.errors import AmbiguousError, PostOnlyRejected, RejectedError, RunnerError, TransientError
from runner.ledger import order_states as states
from venues.base import OrderReport, OrderRequest, VenueAdapter


class EventSink(Protocol):
    def order_event(self, cid: str, status: str, venue_order_id: str | None = None, detail: str = "") -> None: ...


class SendHooks(Protocol):
    def resolve_ambiguous(self, cid: str, instrument: str, why: str) -> OrderReport | None: ...
    def send_failed(self, req: OrderRequest, exc: TransientError) -> None: ...
    def post_only_rejected(self, req: OrderRequest, exc: PostOnlyRejected) -> None: ...
    def rejected(self, req: OrderRequest, exc: RejectedError) -> None: ...


def order_row(req: OrderRequest, run_id: str, variant: str, account: str, seq: int, purpose: str,
              group: str | None, intent_id: str | None) -> dict[str, Any]:
    """The ledger row of an order; the sink stamps ``created`` when it writes it. (Enum
    ``_value_`` rather than ``.value``: the property costs more than building the row.)"""
    return dict(
        client_order_id=req.client_order_id, run_id=run_id, variant=variant, seq=seq,
        account=account, instrument=req.instrument, side=req.side._value_, qty=req.qty,
        price=req.price, order_type=req.order_type._value_, tif=req.tif._value_, purpose=purpose,
        group_id=group, reduce_only=req.reduce_only, intent_id=intent_id,
    )


def submit(venue: VenueAdapter, req: OrderRequest, hooks: SendHooks) -> OrderReport | None:
    """Send ``req`` (its row is in the ledger): the venue's report, the one found by client id
    after an ambiguous send, or None (refused, failed, or not found yet)."""
    try:
        return venue.submit(req)
    except AmbiguousError as exc:  # it may have left: look it up, never resend blindly
        return hooks.resolve_ambiguous(req.client_order_id, req.instrument, str(exc))
    except TransientError as exc:  # nothing left
        hooks.send_failed(req, exc)
    except PostOnlyRejected as exc:  # a maker order that would have taken: a normal market event
        hooks.post_only_rejected(req, exc)
    except RejectedError as exc:
        hooks.rejected(req, exc)
    return None


def look_up(venue: VenueAdapter, sink: EventSink, cid: str, instrument: str, why: str) -> OrderReport | None:
    """Find an order whose send was ambiguous by its client id, and record what was found:
    ``resolved``, or ``unknown`` for now (the status poll looks again; its fills are applied
    whenever they show up, since its row exists)."""
    try:
        rep = venue.order(cid, instrument)
    except RunnerError:
        rep = None
    if rep is None:
        sink.order_event(cid, states.UNKNOWN, detail=f"ambiguous: {why}")
        return None
    sink.order_event(cid, states.RESOLVED, rep.venue_order_id, detail=f"found by client id after: {why}")
    return rep
