"""Promotion without flattening: NEW takes over OLD's open positions, and nothing is traded.

NEW's warm state is its own: deployed beside OLD on the same stream (paused as it deploys, so
it opens nothing of its own), it warms as OLD did, from venue history and live bars. A NEW
that takes over while still warming manages the position like a restarted variant (stop-loss,
time-stop) until it is warm.

Changing one parameter used to mean retiring OLD (it flattens) and letting NEW enter again:
two sets of fees and a gap in exposure. Here the position changes owner in the ledger only:
one transaction writes, per instrument OLD holds, a pair of transfer fills at the mark (fee
zero, liquidity ``transfer``, no client order id: no venue ever saw them), so positions still
equal fills for both; OLD's position row keeps its realized PnL up to the mark, NEW's opens at
the mark and keeps OLD's opening time (a time-stop goes on counting). In the same transaction
OLD moves ``handover`` -> ``retired`` (flat) and NEW ``take_over`` -> ``active``, and both
variants' fencing tokens go up by one, so a running runner that decided an order for either
before it adopted the handover has it refused by the fence instead of sent. The venue's
account is untouched: its positions sum to the same thing.

OLD's resting exits (reduce-only exits the venue acknowledged) go with the position: a row in
``order_handovers`` makes NEW their owner (their fills, status polls and restarts), while the
order row keeps who placed it. Orders are read again inside the write transaction, after the
lock is taken, and that reading decides what moves.

Refused (bad input, exit 2, nothing written) when the two are not one strategy at two
versions (name, kind, account, mode, instruments), NEW is not a higher version or is not a
valid deployment, either is quarantined or not in a state that may hand over, OLD has an order
in flight (a send not answered, a working entry or quote, a fill not read yet), or NEW holds
something already. An open multi-leg group (a funding pair, YES+NO) goes over whole: its
transfer fills carry the group id and its opening legs are handed to NEW, so the group stays
balanced and NEW's exits close it under the same id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import and_, func, or_, select, update

from runner.errors import BadInputError, SpecError
from runner.ledger.marks import latest_marks
from runner.ledger.models import MAIN_RUN, Deployment, Order, Position
from runner.ledger.order_states import FILLED, OPEN, PARTIAL
from runner.ledger.order_states import NEW as NEW_STATUS
from runner.ledger.store import T_HANDED, T_POS, T_STATE, Ledger, NewFill, _StaleState
from runner.ledger.types import utcnow
from runner.lifecycle import State, Trigger, next_state
from runner.spec.deployment_config import VenuesConfig

TRANSFER = "transfer"  # the liquidity of a handover fill: not a trade, not a venue fill
REASON = "handover"  # the reason class of both transitions (the runtime reloads on it)
HANDS_OVER = (State.ACTIVE, State.PAUSED)
TAKES_OVER = (State.PENDING, State.WARMING, State.ACTIVE, State.PAUSED)


class PromoteRefused(BadInputError):
    """The promotion cannot be done as asked; nothing was written."""


@dataclass
class Moved:
    instrument: str
    qty: Decimal  # signed, as OLD held it
    price: Decimal
    priced_at: str  # "mark" or "average cost" (no mark recorded)


@dataclass
class Handover:
    old: str
    new: str
    moved: list[Moved] = field(default_factory=list)
    old_state: str = ""
    new_state: str = ""
    handed: list[str] = field(default_factory=list)  # client ids of the resting exits NEW now owns

    def as_json(self) -> dict[str, object]:
        return {"old": self.old, "new": self.new, "old_state": self.old_state, "new_state": self.new_state,
                "orders_handed_over": self.handed,
                "moved": [{"instrument": m.instrument, "qty": m.qty, "price": m.price, "priced_at": m.priced_at}
                          for m in self.moved]}


def _deployment(ledger: Ledger, vid: str) -> Deployment:
    dep = ledger.deployment(vid) if "@" not in vid else None
    if dep is None:
        known = ", ".join(d.variant for d in ledger.deployments() if "@" not in d.variant) or "none"
        raise PromoteRefused(f"unknown variant {vid!r} (deployed: {known})")
    return dep


def _instruments(ledger: Ledger, dep: Deployment, venues: VenuesConfig, role: str) -> list[str]:
    from runner.spec.load import parse_variant

    try:
        loaded = parse_variant(dep.yaml_text, Path(dep.path), venues)
    except (SpecError, BadInputError) as exc:
        raise PromoteRefused(f"{role} {dep.variant} is not valid: {exc}") from None
    path_errors = [e.message for e in ledger.spec_errors() if e.file == dep.path]
    if role == "NEW" and path_errors:
        raise PromoteRefused(f"NEW {dep.variant} is not valid: {path_errors[0]}")
    return list(loaded.spec.instruments)


def check(ledger: Ledger, old: str, new: str, venues: VenuesConfig) -> tuple[State, State, list[Position]]:
    """Refuse (PromoteRefused) anything but one strategy at two versions, ready to hand over."""
    if old == new:
        raise PromoteRefused(f"promote {old} {new}: OLD and NEW are the same variant")
    d_old, d_new = _deployment(ledger, old), _deployment(ledger, new)
    i_old = _instruments(ledger, d_old, venues, "OLD")
    i_new = _instruments(ledger, d_new, venues, "NEW")
    for what, a, b in (("name", d_old.name, d_new.name), ("kind", d_old.kind, d_new.kind),
                       ("venue (account)", d_old.venue, d_new.venue), ("mode", d_old.mode, d_new.mode),
                       ("instruments", sorted(i_old), sorted(i_new))):
        if a != b:
            raise PromoteRefused(f"{old} and {new} are not compatible: {what} {a} vs {b}; only a new version "
                                 "of the same strategy on the same account and instruments can take over")
    if d_new.version <= d_old.version:
        raise PromoteRefused(f"{new} (version {d_new.version}) is not a higher version than {old} "
                             f"(version {d_old.version})")
    s_old, s_new = _state(ledger, old), _state(ledger, new)
    for vid, st, role, ok in ((old, s_old, "OLD", HANDS_OVER), (new, s_new, "NEW", TAKES_OVER)):
        if st is State.QUARANTINED:
            raise PromoteRefused(f"{role} {vid} is quarantined: find the cause and `runner resume {vid} --clear` "
                                 "first (see runbook proc-clear-quarantine)")
        if st not in ok:
            raise PromoteRefused(f"{role} {vid} is {st.value}: {role} must be "
                                 f"{' or '.join(s.value for s in ok)} to {'hand over' if role == 'OLD' else 'take over'}")
    in_flight = [(o, s) for o, s in ledger.orders_with_status(OPEN, MAIN_RUN, old) if not resting_exit(o, s)]
    in_flight += unread_fills(ledger, old)
    if in_flight:
        shown = ", ".join(f"{o.purpose} {o.side} {o.qty} {o.instrument} ({s})" for o, s in in_flight[:3])
        raise PromoteRefused(f"OLD {old} has {len(in_flight)} order(s) in flight: {shown}; wait until they fill "
                             f"or are cancelled and their fills are read (`runner pause {old}` stops new entries), "
                             "then promote")
    if ledger.orders_with_status(OPEN, MAIN_RUN, new):
        raise PromoteRefused(f"NEW {new} has orders working: pause it and let them finish before it takes over")
    if held := [p for p in ledger.positions(MAIN_RUN, new) if p.qty]:
        raise PromoteRefused(f"NEW {new} already holds {held[0].qty} {held[0].instrument}: only a flat NEW can "
                             "take over (retire or flatten it first)")
    positions = [p for p in ledger.positions(MAIN_RUN, old) if p.qty]
    return s_old, s_new, positions


EXITS = frozenset({"exit", "stop_loss", "time_stop"})
ROUNDED = Decimal("0.99")  # filled within the default anomaly tolerance (1%) counts as read
RESTING = frozenset({NEW_STATUS, PARTIAL})


def resting_exit(order: Order, status: str) -> bool:
    """An exit the venue acknowledged and holds (a maker exit waiting at its price): handed to NEW
    with the position it closes. Anything else open (a send not answered, an entry) is in flight."""
    return order.purpose in EXITS and order.reduce_only and status in RESTING


def unread_fills(ledger: Ledger, vid: str, recent: int = 200) -> list[tuple[Order, str]]:
    """Recent orders the venue reported filled whose fills the ledger has not all read yet: they
    would land on OLD after the handover."""
    closed = ledger.orders_with_status({FILLED}, MAIN_RUN, vid)[-recent:]
    # a venue that rounds a fill (a data anomaly within tolerance, accepted) is not a missing fill
    return [(o, "fills not read yet") for o, _s in closed
            if ledger.filled_qty(o.client_order_id) < o.qty * ROUNDED]


def handed_to(ledger: Ledger, vid: str) -> list[tuple[str, str]]:
    """(client order id, from variant) of every order handed to ``vid``."""
    with ledger.engine.connect() as conn:
        return [(c, f) for c, f in conn.execute(select(T_HANDED.c.client_order_id, T_HANDED.c.from_variant)
                                                .where(T_HANDED.c.to_variant == vid))]


def _state(ledger: Ledger, vid: str) -> State:
    rec = ledger.state(vid)
    if rec is None:
        raise PromoteRefused(f"unknown variant {vid!r}: no lifecycle state")
    return State(rec.state)


def group_nets(ledger: Ledger, vid: str) -> dict[str, dict[str, Decimal]]:
    """Instrument -> {group id: net size} of ``vid``'s open multi-leg groups (a funding pair,
    YES+NO): what each group still holds. The transfer fills carry the group id, so the group
    stays balanced across the handover and NEW's exits close it under the same id."""
    net: dict[tuple[str, str], Decimal] = {}
    for f in ledger.fills(MAIN_RUN, vid, limit=None):
        if f.group_id:
            k = (f.instrument, f.group_id)
            net[k] = net.get(k, Decimal(0)) + (f.qty if f.side == "buy" else -f.qty)
    out: dict[str, dict[str, Decimal]] = {}
    for (sym, gid), q in net.items():
        if q:
            out.setdefault(sym, {})[gid] = q
    return out


def promote(ledger: Ledger, old: str, new: str, venues: VenuesConfig, reason: str = "") -> Handover:
    """Check, then hand over in one transaction (see the module docstring). Operator only."""
    s_old, s_new, _seen = check(ledger, old, new, venues)
    marks = latest_marks(ledger)
    now = utcnow()
    c = T_STATE.c
    try:
        with ledger.begin() as conn:
            # Writing first takes the ledger's write lock: what is read below is what a runner
            # committed last, and no order of either can be recorded until this commits.
            conn.execute(update(T_STATE).where(c.variant.in_([old, new]))
                         .values(epoch=func.coalesce(c.epoch, 0) + 1))
            resting = _orders_now(ledger, conn, old)
            if late := unread_fills(ledger, old):  # read after the lock: no runner commits meanwhile on SQLite
                raise PromoteRefused(f"OLD {old} has a fill not read yet ({late[0][0].side} {late[0][0].qty} "
                                     f"{late[0][0].instrument}); nothing was written: try again in a second")
            positions = [p for p in _positions_now(conn, old) if p.qty]
            groups = group_nets(ledger, old)
            legs = [o for o, _s in ledger.group_legs(MAIN_RUN, old, limit=10_000)
                    if any(o.group_id in g for g in groups.values())]
            out = _write(ledger, conn, old, new, s_old, s_new, positions, resting, marks, now, reason, groups)
            _hand(conn, [o for o in legs if o.client_order_id not in out.handed], new, now)
    except _StaleState:
        raise PromoteRefused(f"{old} or {new} changed state while promoting; nothing was written: "
                             "look at `runner status` and try again") from None
    out.old_state, out.new_state = State.RETIRED.value, State.ACTIVE.value
    return out


def _positions_now(conn, vid: str) -> list[Position]:  # type: ignore[no-untyped-def]
    rows = conn.execute(select(T_POS).where(T_POS.c.run_id == MAIN_RUN, T_POS.c.variant == vid)).mappings().all()
    return [Position(**r) for r in rows]


def _write(ledger: Ledger, conn, old: str, new: str, s_old: State, s_new: State,  # type: ignore[no-untyped-def]
           positions: list[Position], resting: list[Order], marks, now, reason: str,  # type: ignore[no-untyped-def]
           groups: dict[str, dict[str, Decimal]]) -> Handover:
    out = Handover(old, new)
    fills: list[NewFill] = []
    stamp = int(now.timestamp() * 1000)
    for p in positions:
        mark = marks.get((p.account, p.instrument))
        price, at = (mark[1], "mark") if mark is not None else (p.avg_price, "average cost")
        out.moved.append(Moved(p.instrument, p.qty, price, at))
        pieces = dict(groups.get(p.instrument, {}))  # each open group's share, then the rest
        pieces[""] = p.qty - sum(pieces.values(), Decimal(0))
        for gid, qty in pieces.items():
            if not qty:
                continue
            give, take = ("sell", "buy") if qty > 0 else ("buy", "sell")
            key = f"{p.account}:{TRANSFER}:{old}>{new}:{p.instrument}:{gid}:{stamp}"
            fills.append(NewFill(key + ":out", None, MAIN_RUN, old, p.account, p.instrument, give, abs(qty), price,
                                 Decimal(0), now, TRANSFER, gid or None))
            fills.append(NewFill(key + ":in", None, MAIN_RUN, new, p.account, p.instrument, take, abs(qty), price,
                                 Decimal(0), now, TRANSFER, gid or None))
    out.handed = [o.client_order_id for o in resting]
    what = ", ".join(f"{m.qty} {m.instrument} @ {m.price} ({m.priced_at})" for m in out.moved) or "nothing held"
    if resting:
        what += "; resting exits " + ", ".join(f"{o.side} {o.qty} {o.instrument} @ {o.price}" for o in resting)
    note = f"; {reason}" if reason else ""
    ledger.apply_fills(fills, conn)
    for p in positions:  # NEW's time-stop goes on from when OLD opened it
        conn.execute(update(T_POS).where(T_POS.c.run_id == MAIN_RUN, T_POS.c.variant == new,
                                         T_POS.c.instrument == p.instrument).values(opened=p.opened))
    _hand(conn, resting, new, now)
    ledger._insert_transition(conn, old, s_old.value, next_state(old, s_old, Trigger.HANDOVER).value,
                              Trigger.HANDOVER.value, REASON, f"handed over to {new}: {what}{note}", "operator", now, fenced=False)
    ledger._insert_transition(conn, new, s_new.value, next_state(new, s_new, Trigger.TAKE_OVER).value,
                              Trigger.TAKE_OVER.value, REASON, f"took over from {old}: {what}{note}", "operator", now, fenced=False)
    return out


def _hand(conn, orders: list[Order], new: str, now) -> None:  # type: ignore[no-untyped-def]
    """NEW owns these orders from now on (resting exits; the opening legs of its groups)."""
    for o in orders:
        conn.execute(T_HANDED.delete().where(T_HANDED.c.client_order_id == o.client_order_id))
        conn.execute(T_HANDED.insert().values(client_order_id=o.client_order_id, from_variant=o.variant,
                                              to_variant=new, ts=now))


def _orders_now(ledger: Ledger, conn, old: str) -> list[Order]:  # type: ignore[no-untyped-def]
    """OLD's open orders again, inside the write transaction (a runner may have just sent one):
    the resting exits that go to NEW; anything in flight refuses, and nothing is written."""
    from runner.ledger.store import T_EVENTS, T_ORDERS

    last = (select(T_EVENTS.c.client_order_id, func.max(T_EVENTS.c.id).label("last_id"))
            .group_by(T_EVENTS.c.client_order_id).subquery())
    cid = T_ORDERS.c.client_order_id
    q = (select(T_ORDERS, T_EVENTS.c.status)
         .join(last, last.c.client_order_id == cid).join(T_EVENTS, T_EVENTS.c.id == last.c.last_id)
         .where(T_ORDERS.c.run_id == MAIN_RUN, T_EVENTS.c.status.in_(list(OPEN)),
                or_(and_(T_ORDERS.c.variant == old, cid.not_in(select(T_HANDED.c.client_order_id))),
                    cid.in_(select(T_HANDED.c.client_order_id).where(T_HANDED.c.to_variant == old)))))
    out = []
    for r in conn.execute(q).mappings().all():
        d = dict(r)
        status = d.pop("status")
        order = Order(**d)
        if not resting_exit(order, status):
            raise PromoteRefused(f"OLD {old} placed an order while promoting ({order.purpose} {order.side} "
                                 f"{order.qty} {order.instrument}, {status}); nothing was written: try again once "
                                 "it has filled or been cancelled")
        out.append(order)
    return out


def reload(ledger: Ledger, eng) -> None:  # type: ignore[no-untyped-def]
    """A running engine adopts a handover: its positions are the ledger's again (OLD's flat,
    NEW's holding at the mark, with OLD's opening time)."""
    from runner.ledger.positions import PositionState

    eng.positions.clear()
    eng.views.clear()
    for p in ledger.positions(MAIN_RUN, eng.id):
        eng.restore_position(p.instrument, PositionState(p.qty, p.avg_price, p.realized_pnl, p.fees, p.opened))
