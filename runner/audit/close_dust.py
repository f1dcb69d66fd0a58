"""Executing the dust plan, only when the operator confirms it.

Design (why one aggregate order plus allocation fills): dust is below what one order can
close per variant, but the fragments of one account and instrument together often are
closeable. So each closeable aggregate becomes ONE venue order, recorded and sent the
normal way, through the engine's send path ``runner.engine.sending`` (order row with purpose
``close_dust`` committed before the venue hears of it, salted deterministic client order id,
the venue's precision and reduce-only check in ``prepare``, an ambiguous send looked up by
client id, events for every outcome in the one order vocabulary of
``runner.ledger.order_states``, fills built by its one constructor) under the pseudo-variant
``close_dust:<account>``. Its venue fills are booked to that pseudo-variant. Then zero-sum
allocation fills (flag ``close_dust``, no client order id, fee 0, at the average fill price)
move each fragment from its variant to the pseudo-variant. Every variant ends flat, the
pseudo-variant ends flat (it carries the venue fee), positions still equal their fills, and
the ledger's sum per account and instrument still equals the venue's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from runner.audit.dust import Fragment, PlanItem
from runner.audit.inputs import read_fills
from runner.engine import sending
from runner.engine.client_ids import client_order_id
from runner.engine.sink import ImmediateSink
from runner.errors import PostOnlyRejected, RejectedError, RunnerError, TransientError
from runner.ledger import order_states as states
from runner.ledger.identity import client_id_salt
from runner.ledger.models import MAIN_RUN
from runner.ledger.store import Ledger, NewFill
from venues.base import OrderReport, OrderRequest, OrderType, Side, TimeInForce, VenueAdapter

ZERO = Decimal(0)
PURPOSE = "close_dust"
SLIPPAGE_BPS = Decimal(50)  # the closing order crosses the spread by at most this much


def pseudo_variant(account: str) -> str:
    return f"close_dust:{account}"


@dataclass
class Outcome:
    account: str
    instrument: str
    action: str  # order | transfer | none
    status: str  # done | partial | failed | skipped
    client_order_id: str | None = None
    filled: Decimal = ZERO
    price: Decimal | None = None
    flattened: list[str] = field(default_factory=list)
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return {"venue": self.account, "instrument": self.instrument, "action": self.action, "status": self.status,
                "order_id": self.client_order_id, "filled": self.filled, "price": self.price,
                "flattened": self.flattened, "detail": self.detail}


def allocation(frags: tuple[Fragment, ...], filled: Decimal, net: Decimal) -> list[tuple[Fragment, Decimal]]:
    """Which fragments (and how much of each, unsigned) the filled quantity closes.

    All of them when the aggregate filled; otherwise fragments on the side of the aggregate,
    largest first, until the filled quantity is used up.
    """
    if filled >= abs(net):
        return [(f, abs(f.qty)) for f in frags]
    left, out = filled, []
    for f in sorted((f for f in frags if (f.qty > 0) == (net > 0)), key=lambda f: -abs(f.qty)):
        if left <= 0:
            break
        take = min(left, abs(f.qty))
        out.append((f, take))
        left -= take
    return out


def transfer_fills(item: PlanItem, moves: list[tuple[Fragment, Decimal]], price: Decimal, ref: str,
                   ts: datetime) -> list[NewFill]:
    """Zero-sum fills: each fragment to the pseudo-variant, and the pseudo-variant's counterpart."""
    pseudo = pseudo_variant(item.account)
    out, total = [], ZERO
    for f, qty in moves:
        side = "sell" if f.qty > 0 else "buy"
        total += qty if f.qty > 0 else -qty
        out.append(NewFill(f"close_dust:{ref}:{f.variant}", None, MAIN_RUN, f.variant, item.account, item.instrument,
                           side, qty, price, ZERO, ts, "internal", None, PURPOSE))
    if total:
        out.append(NewFill(f"close_dust:{ref}:{pseudo}", None, MAIN_RUN, pseudo, item.account, item.instrument,
                           "buy" if total > 0 else "sell", abs(total), price, ZERO, ts, "internal", None, PURPOSE))
    return out


def execute(ledger: Ledger, item: PlanItem, adapter: VenueAdapter | None) -> Outcome:
    """Carry out one plan item; every step is written to the ledger as it happens."""
    now = datetime.now(UTC)
    if item.action == "transfer":
        ref = f"net0:{item.account}:{item.instrument}:{now.timestamp():.6f}"
        ledger.apply_fills(transfer_fills(item, [(f, abs(f.qty)) for f in item.fragments], item.price, ref, now))
        return Outcome(item.account, item.instrument, "transfer", "done", price=item.price,
                       flattened=[f.variant for f in item.fragments], detail=item.note)
    if item.action != "order" or adapter is None:
        return Outcome(item.account, item.instrument, item.action, "skipped", detail=item.note)
    return _order(ledger, item, adapter, now)


class _Outcomes:
    """What each send outcome does to a close-dust order: its event, and the plan's detail."""

    def __init__(self, ad: VenueAdapter, sink: ImmediateSink, out: Outcome) -> None:
        self.ad, self.sink, self.out = ad, sink, out

    def resolve_ambiguous(self, cid: str, instrument: str, why: str) -> OrderReport | None:
        return sending.look_up(self.ad, self.sink, cid, instrument, why)

    def send_failed(self, req: OrderRequest, exc: TransientError) -> None:
        self.sink.order_event(req.client_order_id, states.SEND_FAILED, detail=str(exc))
        self.out.detail = f"send failed: {exc}"

    def post_only_rejected(self, req: OrderRequest, exc: PostOnlyRejected) -> None:
        self.rejected(req, exc)  # an IOC close is never post-only; refused all the same

    def rejected(self, req: OrderRequest, exc: RejectedError) -> None:
        self.sink.order_event(req.client_order_id, states.REJECTED, detail=exc.reason)
        self.out.detail = f"rejected: {exc.reason}"


def _order(ledger: Ledger, item: PlanItem, ad: VenueAdapter, now: datetime) -> Outcome:
    pseudo = pseudo_variant(item.account)
    out = Outcome(item.account, item.instrument, "order", "failed")
    side = Side(item.side or "sell")
    try:
        book = ad.book(item.instrument, depth=1)
        levels = book.asks if side is Side.BUY else book.bids
        if not levels:
            out.detail = f"not sent: {book.gap or 'empty_book'} on {item.instrument}"
            return out
        ref = Decimal(repr(levels[0][0]))
        price = ref * (1 + side.sign * SLIPPAGE_BPS / 10_000)
        seq = ledger.next_seq(MAIN_RUN, pseudo)
        cid = client_order_id(MAIN_RUN, pseudo, seq, client_id_salt(ledger))
        req = ad.prepare(OrderRequest(cid, item.instrument, side, item.qty, OrderType.LIMIT, price, TimeInForce.IOC,
                                      reduce_only=True))
    except RunnerError as exc:
        out.detail = f"not sent: {exc}"
        return out
    out.client_order_id = cid
    sink = ImmediateSink(ledger)
    sink.order(sending.order_row(req, MAIN_RUN, pseudo, item.account, seq, PURPOSE, None, None))
    hooks = _Outcomes(ad, sink, out)
    try:
        rep = sending.submit(ad, req, hooks)  # the engine's send path: the same outcomes, the same events
    except RunnerError as exc:
        sink.order_event(cid, states.SEND_FAILED, detail=str(exc))
        out.detail = f"send failed: {exc}"
        return out
    if rep is None:
        out.detail = out.detail or "outcome unknown: `runner reconcile` adopts its fills once the venue reports them"
        return out
    sink.order_event(cid, rep.status.value, rep.venue_order_id, rep.reason or "")
    venue_fills = [f for f in read_fills(ad, ledger.cursor(item.account)) if f.client_order_id == cid]
    booked = [states.fill_from_report(f, account=item.account, run_id=MAIN_RUN, variant=pseudo) for f in venue_fills]
    filled = sum((f.qty for f in venue_fills), ZERO)
    if not filled:
        out.detail = f"venue filled nothing ({rep.status.value}); dust left as recorded"
        return out
    avg = sum((f.qty * f.price for f in venue_fills), ZERO) / filled
    moves = allocation(item.fragments, filled, item.net)
    ledger.apply_fills(transfer_fills(item, moves, avg, cid, now) + booked)
    out.filled, out.price = filled, avg
    out.flattened = [f.variant for f, q in moves if q == abs(f.qty)]
    out.status = "done" if filled >= abs(item.net) else "partial"
    out.detail = f"{side.value} {filled} @ {avg:.8g} closed {len(out.flattened)} fragment(s)"
    return out
