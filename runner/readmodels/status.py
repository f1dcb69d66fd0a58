"""What ``runner status`` and ``runner positions`` show: plain dicts with the spec's stable keys.

Read through :class:`~runner.readmodels.db.ReadDB` (plain SQL, no ORM), so a read command
answers in a fraction of a second on a ledger of 100k fills. Positions are the ledger's own
materialized rows (written with each fill, re-derived by the ``fills_vs_positions`` audit);
nothing here folds fills again except today's PnL (``today``). Built from the ledger alone,
so they work whether or not a runner is running.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.ledger.version import MAIN_RUN
from runner.readmodels.db import ReadDB, dec, iso, ts

ZERO = Decimal(0)
# runner.ledger.order_states.OPEN, without its imports (SQLAlchemy); a test pins them equal
OPEN = ("submitting", "new", "partially_filled", "unknown", "resolved")


def instruments(db: ReadDB) -> dict[tuple[str, str], Any]:
    """The venue precision a runner recorded, as ``venues.base.Instrument``."""
    from venues.base import Instrument

    return {(a, s): Instrument(s, dec(tick), dec(lot), dec(mn), dec(notional), kind, maker_fee=dec(mk),
                               taker_fee=dec(tk), close_waives_minimum=bool(waive))
            for a, s, kind, tick, lot, mn, notional, mk, tk, waive in db.rows(
                "SELECT account, symbol, kind, tick_size, lot_size, min_size, min_notional, maker_fee, taker_fee, "
                "close_waives_minimum FROM instruments")}


def marks(db: ReadDB) -> dict[tuple[str, str], tuple[str, Decimal, Any]]:
    """(account, instrument) -> (quote unit, mid, time seen): the last mids a runner recorded."""
    return {(a, s): (q, Decimal(mid), ts(t)) for a, s, q, mid, t in
            db.rows("SELECT account, instrument, quote, mid, ts FROM marks")}


def position_rows(db: ReadDB, run_id: str = MAIN_RUN, variant: str | None = None) -> list[dict[str, Any]]:
    sql = ("SELECT variant, instrument, account, qty, avg_price, realized_pnl, fees, last_price, updated "
           "FROM positions WHERE run_id = ?")
    args: list[Any] = [run_id]
    if variant:
        sql += " AND variant = ?"
        args.append(variant)
    keys = ("variant", "instrument", "account", "qty", "avg_price", "realized_pnl", "fees", "last_price", "updated")
    out = []
    for r in db.rows(sql + " ORDER BY variant, instrument", args):
        d = dict(zip(keys, r, strict=True))
        for k in ("qty", "avg_price", "realized_pnl", "fees", "last_price"):
            d[k] = dec(d[k])
        d["updated"] = ts(d["updated"])
        out.append(d)
    return out


def positions(db: ReadDB, variant: str | None = None, run_id: str = MAIN_RUN) -> list[dict[str, Any]]:
    """Positions marked at the last mid the runner recorded (never the last fill price), with
    PnL and fees in the account's currency (``currency``; a cents-quoted leg is converted)."""
    from runner.money import currency_of, to_account

    rows = position_rows(db, run_id, variant)
    insts = instruments(db) if rows else {}
    mk = marks(db) if rows else {}
    funding = _funding(db, run_id) if rows else {}
    out = []
    for p in rows:
        quote, mark, seen = mk.get((p["account"], p["instrument"]), ("USD", None, None))
        if run_id != MAIN_RUN:  # a backtest's positions: the live runner's marks are not its market
            mark = seen = None
        qty, avg = p["qty"], p["avg_price"]
        unreal = (mark - avg) * qty if (mark is not None and qty) else ZERO
        paid = funding.get((p["variant"], p["instrument"]), ZERO)
        inst = insts.get((p["account"], p["instrument"]))
        out.append({
            "variant": p["variant"], "instrument": p["instrument"], "account": p["account"], "qty": float(qty),
            "avg_price": float(avg), "realized_pnl": float(to_account(p["realized_pnl"] - p["fees"], quote)),
            "unrealized_pnl": float(to_account(unreal, quote)),
            # the ledger books funding as a negative fee of a zero-size fill: shown apart, never as a fee
            "fees": float(to_account(p["fees"] + paid, quote)), "funding": float(to_account(paid, quote)),
            "mark": None if mark is None else float(mark), "mark_ts": iso(seen),
            "currency": currency_of(quote),
            "dust": bool(inst and qty and inst.is_dust(qty, p["last_price"] or avg)),
        })
    return out


def _funding(db: ReadDB, run_id: str) -> dict[tuple[str, str], Decimal]:
    """Funding received (+) or paid (-) per (variant, instrument), from the funding fill rows."""
    out: dict[tuple[str, str], Decimal] = {}
    # the literal 'funding' lets SQLite use the partial index ix_fills_funding (runner.ledger.database.READ_INDEXES)
    for v, sym, fee in db.rows("SELECT variant, instrument, fee FROM fills WHERE run_id = ? AND liquidity = 'funding'",
                               (run_id,)):
        out[(v, sym)] = out.get((v, sym), ZERO) - Decimal(fee)
    return out


def status(db: ReadDB, cache: Path | None = None) -> dict[str, Any]:
    """Every deployed variant: state and why, position, PnL (total and today), open orders, last
    error; deploy errors; whether a runner is running; each account's stream and bar sources. ``cache``: today's PnL checkpoints."""
    from runner.money import unit_scale
    from runner.readmodels.liveness import runner_liveness
    from runner.readmodels.today import realized_today

    states = {r[0]: r for r in db.rows("SELECT variant, state, reason, detail, since FROM variant_state")}
    pos = positions(db)
    open_orders = _open_orders(db)
    last_errors = _last_errors(db)
    errors = [{"file": f, "message": msg, "ts": iso(t)} for f, msg, t in
              db.rows("SELECT file, message, ts FROM spec_errors ORDER BY file")]
    file_errors = {e["file"]: e["message"] for e in errors}  # "cannot start/run" says why here
    quotes = {sym: q for (_a, sym), (q, _m, _t) in marks(db).items()}
    today = realized_today(db, lambda sym: unit_scale(quotes.get(sym, "USD")), cache)
    variants = []
    for variant, kind, venue, mode, path in db.rows(
            "SELECT variant, kind, venue, mode, path FROM deployments ORDER BY variant"):
        if "@" in variant:
            continue
        st = states.get(variant)
        mine = [p for p in pos if p["variant"] == variant]
        held = _pause_requested(db, variant) if st is not None and st[1] in ("pending", "warming") else None
        variants.append({
            "id": variant, "kind": kind, "venue": venue, "mode": mode,
            "state": st[1] if st else "unknown",
            "reason": held[0] if held else st[2] if st else "",
            "detail": held[1] if held else st[3] if st else "", "since": iso(st[4]) if st else None,
            "pause_requested": bool(held),  # the operator's pause, applied when warm
            "position": sum(p["qty"] for p in mine),
            "positions": {p["instrument"]: p["qty"] for p in mine if p["qty"]},
            "pnl": sum(p["realized_pnl"] + p["unrealized_pnl"] for p in mine),
            "currency": ",".join(sorted({p["currency"] for p in mine})) or "USD",
            "pnl_today": float(today.get(variant, ZERO)) + sum(p["unrealized_pnl"] for p in mine),
            "open_orders": open_orders.get(variant, 0),
            "last_error": _why_not(file_errors.get(path, ""), variant) or last_errors.get(variant),
        })
    beats = [_Beat(*r) for r in db.rows("SELECT runner_id, host, pid, ts FROM heartbeats")]
    alive = runner_liveness(beats)
    for v in variants:
        v["running"] = alive["state"] == "running" and v["state"] not in ("retired", "unknown")
    from runner.readmodels.streams import accounts

    return {"variants": variants, "errors": errors, "runner": alive,
            "accounts": accounts(db),  # each account's stream, budget use and bar sources
            "runners": [{"id": h.runner_id, "host": h.host, "pid": h.pid, "ts": iso(h.ts)} for h in beats]}


class _Beat:
    __slots__ = ("runner_id", "host", "pid", "ts")

    def __init__(self, runner_id: str, host: str, pid: int, when: Any) -> None:  # noqa: ANN401
        self.runner_id, self.host, self.pid, self.ts = runner_id, host, pid, ts(when)


def _pause_requested(db: ReadDB, variant: str) -> tuple[str, str] | None:
    """The operator's pause still waiting for warm-up (``runner.lifecycle.pause_requested``)."""
    from types import SimpleNamespace

    from runner.lifecycle import pause_requested

    rows = [SimpleNamespace(to_state=a, trigger=b, reason=c, detail=d) for a, b, c, d in db.rows(
        "SELECT to_state, trigger, reason, detail FROM transitions WHERE variant = ? ORDER BY id", (variant,))]
    held = pause_requested(rows)
    return (held.reason, held.detail) if held else None


def _open_orders(db: ReadDB) -> dict[str, int]:
    """Orders of the main run whose latest event is an open status, counted per variant."""
    marks_ = ", ".join("?" * len(OPEN))
    sql = (f"SELECT o.client_order_id, o.variant FROM order_events e JOIN orders o "
           f"ON o.client_order_id = e.client_order_id WHERE e.status IN ({marks_}) AND o.run_id = ? AND NOT EXISTS "
           f"(SELECT 1 FROM order_events n WHERE n.client_order_id = e.client_order_id AND n.id > e.id)")
    handed = _handed(db)  # orders `runner promote` gave to a newer version count there
    out: dict[str, int] = {}
    for cid, variant in db.rows(sql, (*OPEN, MAIN_RUN)):
        owner = handed.get(cid, variant)
        out[owner] = out.get(owner, 0) + 1
    return out


def _handed(db: ReadDB) -> dict[str, str]:
    if not db.has_table("order_handovers"):
        return {}
    return dict(db.rows("SELECT client_order_id, to_variant FROM order_handovers"))


def _why_not(message: str, variant: str) -> str | None:
    """The runner's reason this variant cannot start or run, recorded on its file."""
    return message.removeprefix(f"{variant}: ") if message.startswith(f"{variant}: cannot ") else None


def _last_errors(db: ReadDB) -> dict[str, str]:
    out: dict[str, str] = {}
    for variant, status_, detail in db.rows(
            "SELECT o.variant, e.status, e.detail FROM order_events e JOIN orders o ON "
            "o.client_order_id = e.client_order_id WHERE e.status IN ('rejected', 'send_failed') AND o.run_id = ? "
            "ORDER BY e.id", (MAIN_RUN,)):
        out[variant] = f"{status_}: {detail}"
    return out
