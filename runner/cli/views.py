"""Read models for the reading commands: plain dicts with the spec's stable keys.

Built from the ledger alone, so they work whether or not a runner is running.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from runner.ledger.models import MAIN_RUN
from runner.ledger.order_states import OPEN
from runner.ledger.store import Ledger
from runner.ledger.types import iso
from runner.lifecycle import pause_requested

ZERO = Decimal(0)

def _f(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def positions_view(ledger: Ledger, variant: str | None = None, run_id: str = MAIN_RUN) -> list[dict[str, Any]]:
    """Positions marked at the last mid the runner recorded (never the last fill price), with
    PnL and fees in the account's currency (``currency``; a cents-quoted leg is converted)."""
    from runner.ledger.dust import dust_flags
    from runner.ledger.marks import latest_marks
    from runner.money import currency_of, to_account

    rows = ledger.positions(run_id, variant)
    flags = dust_flags(ledger, rows)
    marks = latest_marks(ledger)
    funding = _funding(ledger, run_id)
    out = []
    for p in rows:
        quote, mark, seen = marks.get((p.account, p.instrument), ("USD", None, None))
        if run_id != MAIN_RUN:  # a backtest's positions: the live runner's marks are not its market
            mark = seen = None
        unreal = (mark - p.avg_price) * p.qty if (mark is not None and p.qty) else Decimal(0)
        out.append({
            "variant": p.variant, "instrument": p.instrument, "account": p.account, "qty": float(p.qty),
            "avg_price": float(p.avg_price), "realized_pnl": float(to_account(p.realized_pnl - p.fees, quote)),
            "unrealized_pnl": float(to_account(unreal, quote)),
            # the ledger books funding as a negative fee of a zero-size fill: shown apart, never as a fee
            "fees": float(to_account(p.fees + funding.get((p.variant, p.instrument), ZERO), quote)),
            "funding": float(to_account(funding.get((p.variant, p.instrument), ZERO), quote)),
            "mark": _f(mark), "mark_ts": iso(seen) if seen is not None else None,
            "currency": currency_of(quote), "dust": flags.get((p.variant, p.instrument), False),
        })
    return out


def _funding(ledger: Ledger, run_id: str) -> dict[tuple[str, str], Decimal]:
    """Funding received (+) or paid (-) per (variant, instrument), from the funding fill rows."""
    from sqlalchemy import select

    from runner.ledger.store import T_FILLS

    q = select(T_FILLS.c.variant, T_FILLS.c.instrument, T_FILLS.c.fee).where(
        T_FILLS.c.run_id == run_id, T_FILLS.c.liquidity == "funding")
    out: dict[tuple[str, str], Decimal] = {}
    with ledger.engine.connect() as conn:
        for v, sym, fee in conn.execute(q):
            out[(v, sym)] = out.get((v, sym), ZERO) - Decimal(fee)
    return out


def _handed(ledger: Ledger) -> dict[str, str]:
    from sqlalchemy import select

    from runner.ledger.store import T_HANDED

    with ledger.engine.connect() as conn:
        return dict(conn.execute(select(T_HANDED.c.client_order_id, T_HANDED.c.to_variant)).all())  # type: ignore[arg-type]


def status_view(ledger: Ledger) -> dict[str, Any]:
    states = ledger.states()
    pos = positions_view(ledger)
    open_orders = ledger.orders_with_status(OPEN, MAIN_RUN)
    handed = _handed(ledger)  # orders `runner promote` gave to a newer version count there
    last_errors = _last_errors(ledger)
    file_errors = {e.file: e.message for e in ledger.spec_errors()}  # "cannot start/run" says why here
    today = _today_all(ledger)
    variants = []
    for dep in ledger.deployments():
        if "@" in dep.variant:
            continue
        st = states.get(dep.variant)
        mine = [p for p in pos if p["variant"] == dep.variant]
        live = st is not None and st.state in ("pending", "warming")
        held = pause_requested(ledger.transitions(dep.variant)) if live else None
        variants.append({
            "id": dep.variant, "kind": dep.kind, "venue": dep.venue, "mode": dep.mode,
            "state": st.state if st else "unknown",
            "reason": held.reason if held else st.reason if st else "",
            "detail": held.detail if held else st.detail if st else "", "since": iso(st.since) if st else None,
            "pause_requested": bool(held),  # the operator's pause, applied when warm
            "position": sum(p["qty"] for p in mine),
            "positions": {p["instrument"]: p["qty"] for p in mine if p["qty"]},
            "pnl": sum(p["realized_pnl"] + p["unrealized_pnl"] for p in mine),
            "currency": ",".join(sorted({p["currency"] for p in mine})) or "USD",
            "pnl_today": today.get(dep.variant, 0.0) + sum(p["unrealized_pnl"] for p in mine),
            "open_orders": sum(1 for o, _ in open_orders if handed.get(o.client_order_id, o.variant) == dep.variant),
            "last_error": _why_not(file_errors.get(dep.path, ""), dep.variant) or last_errors.get(dep.variant),
        })
    errors = [{"file": e.file, "message": e.message, "ts": iso(e.ts)} for e in ledger.spec_errors()]
    beats = ledger.heartbeats()
    from runner.cli.liveness import runner_liveness

    alive = runner_liveness(beats)
    for v in variants:
        v["running"] = alive["state"] == "running" and v["state"] not in ("retired", "unknown")
    return {"variants": variants, "errors": errors, "runner": alive,
            "runners": [{"id": h.runner_id, "host": h.host, "pid": h.pid, "ts": iso(h.ts)} for h in beats]}


def _today_all(ledger: Ledger) -> dict[str, float]:
    """Each variant's realized PnL booked today (UTC), folding its fills in one pass.

    Core rows, not ORM objects: building 100k SQLModel fills took `status` 30 s; the average cost
    at midnight still needs every earlier fill. Only variants that traded today are folded."""
    from datetime import UTC, datetime

    from sqlalchemy import String, select, type_coerce

    from runner.ledger.marks import latest_marks
    from runner.ledger.positions import realized_on_day
    from runner.ledger.store import T_FILLS
    from runner.money import unit_scale

    now = datetime.now(UTC)
    day = now.date().isoformat()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    c = T_FILLS.c
    sqlite = ledger.url.startswith("sqlite")
    with ledger.engine.connect() as conn:
        since = c.ts >= (midnight.replace(tzinfo=None) if sqlite else midnight)
        today = {v for (v,) in conn.execute(select(c.variant).where(c.run_id == MAIN_RUN, since).distinct())}
        if not today:
            return {}
        raw = [type_coerce(col, String) for col in (c.qty, c.price, c.fee)]  # Decimal() ourselves: 3x faster
        q = (select(c.variant, c.instrument, c.side, *raw, type_coerce(c.ts, String) if sqlite else c.ts)
             .where(c.run_id == MAIN_RUN, c.variant.in_(sorted(today))).order_by(c.id))
        per: dict[str, list[tuple]] = {}  # type: ignore[type-arg]
        for variant, inst, side, qty, price, fee, ts in conn.execute(q):
            ts = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
            per.setdefault(variant, []).append((inst, 1 if side == "buy" else -1, Decimal(qty), Decimal(price),
                                                Decimal(fee), ts if ts.tzinfo else ts.replace(tzinfo=UTC)))
    quotes = {sym: q for (_acct, sym), (q, _m, _t) in latest_marks(ledger).items()}
    scale = lambda sym: unit_scale(quotes.get(sym, "USD"))  # noqa: E731 - account currency (Kalshi cents)
    return {v: float(realized_on_day(rows, day, scale)) for v, rows in per.items()}


def _why_not(message: str, variant: str) -> str | None:
    """The runner's reason this variant cannot start or run, recorded on its file."""
    return message.removeprefix(f"{variant}: ") if message.startswith(f"{variant}: cannot ") else None


def _last_errors(ledger: Ledger) -> dict[str, str]:
    from sqlalchemy import select

    from runner.ledger.store import T_EVENTS, T_ORDERS

    q = (
        select(T_ORDERS.c.variant, T_EVENTS.c.status, T_EVENTS.c.detail)
        .join(T_EVENTS, T_EVENTS.c.client_order_id == T_ORDERS.c.client_order_id)
        .where(T_EVENTS.c.status.in_(["rejected", "send_failed"]), T_ORDERS.c.run_id == MAIN_RUN)
        .order_by(T_EVENTS.c.id)
    )
    out: dict[str, str] = {}
    with ledger.engine.connect() as conn:
        for variant, status, detail in conn.execute(q):
            out[variant] = f"{status}: {detail}"
    return out


def events_view(ledger: Ledger, variant: str | None, limit: int) -> list[dict[str, Any]]:
    return [
        {"variant": t.variant, "from": t.from_state, "to": t.to_state, "trigger": t.trigger, "reason": t.reason,
         "detail": t.detail, "actor": t.actor, "ts": iso(t.ts)}
        for t in ledger.transitions(variant, limit=limit)
        if variant or "@" not in t.variant
    ]


def fills_view(ledger: Ledger, variant: str | None, limit: int, run_id: str = MAIN_RUN) -> list[dict[str, Any]]:
    return [
        {"variant": f.variant, "instrument": f.instrument, "side": f.side, "qty": float(f.qty),
         "price": float(f.price), "fee": float(f.fee), "ts": iso(f.ts), "order_id": f.client_order_id,
         "liquidity": f.liquidity, "flag": f.flag, "fill_id": f.fill_key}
        for f in ledger.fills(run_id, variant, limit)
    ]
