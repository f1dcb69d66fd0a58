"""Checks of the ledger against the venues: positions, retired variants, orphan orders.

Pure functions ``(LedgerData, {account: VenueData}) -> list[Finding]``. Venue fills the ledger
has not read yet (after its cursor) for orders it knows explain a difference: they are in
flight, not missing. An account that could not be read is reported as such.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from runner.audit.findings import Finding, Severity
from runner.audit.inputs import LedgerData, VenueData, age_s, instrument_of
from runner.ledger.marks import position_price
from runner.ledger.order_states import is_open
from venues.base import net_binary_legs

ZERO = Decimal(0)


def _unreadable(check: str, vd: VenueData) -> Finding:
    if vd.budget:  # our own budget kept the read back for trading: information, not a venue failure
        return Finding(check, Severity.INFO, None, {"subject": f"{vd.account}:budget", "account": vd.account,
                                                    "error": vd.error},
                       "audit-check-failed", f"{check}: account {vd.account} not read this cycle: the request "
                                             "budget keeps its reads for trading (the venue was not asked); "
                                             "read again next cycle")
    return Finding(check, Severity.WARNING, None, {"subject": f"{vd.account}:unreadable", "account": vd.account,
                                                   "error": vd.error},
                   "audit-check-failed", f"{check}: cannot read account {vd.account}: {vd.error}")


def _expected(led: LedgerData, vd: VenueData) -> dict[str, Decimal]:
    """Ledger net per instrument of an account, plus known fills the ledger has yet to read."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in led.positions:
        if p.account == vd.account:
            out[p.instrument] += p.qty
    keys = led.fill_keys
    for f in vd.pending_fills:
        if f"{vd.account}:{f.fill_id}" not in keys and (f.client_order_id or "") in led.orders:
            out[f.instrument] += f.qty * f.side.sign
    return out


def venue_quantities(vd: VenueData) -> dict[str, Decimal]:
    """The venue's positions as quantities the ledger's are comparable with, per instrument.

    The one seam where a venue's own representation is mapped (e.g. Kalshi netting YES
    against NO); every venue-side comparison goes through it.
    """
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in vd.positions:
        out[r.instrument] += r.qty
    return dict(out)


def _price(led: LedgerData, account: str, inst: str, vd: VenueData) -> Decimal:
    for p in led.positions:
        if p.account == account and p.instrument == inst and (price := position_price(p, led.marks)):
            return price
    for r in vd.positions:
        if r.instrument == inst and r.avg_price:
            return r.avg_price
    return ZERO


def _abandoned_qty(led: LedgerData, account: str) -> dict[str, Decimal]:
    """Per instrument, what abandoned variants still hold in the ledger on ``account``."""
    gone = led.abandoned()
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in led.positions:
        if p.account == account and p.variant in gone and p.qty:
            out[p.instrument] += p.qty
    return out


def _closed_on_venue(diff: Decimal, abandoned: Decimal, spec, price: Decimal) -> bool:  # type: ignore[no-untyped-def]
    """The venue lacks exactly what abandoned variants hold: their exposure was closed there."""
    rest = diff + abandoned
    return bool(abandoned) and (rest == 0 or (spec is not None and spec.is_dust(rest, price)))


def _holders(led: LedgerData, account: str, inst: str) -> list[str]:
    return sorted({f.variant for f in led.fills if f.account == account and f.instrument == inst})


def ledger_vs_venue(led: LedgerData, venues: Mapping[str, VenueData]) -> list[Finding]:
    """Ledger positions summed per account and instrument equal the venue's, within dust."""
    out = []
    for account, vd in sorted(venues.items()):
        if vd.error:
            out.append(_unreadable("ledger_vs_venue", vd))
            continue
        expected = _expected(led, vd)
        actual = venue_quantities(vd)
        if vd.nets_binary_legs:  # the ledger keeps YES and NO apart; the venue nets them
            expected, actual = net_binary_legs(expected), net_binary_legs(actual)
        abandoned = _abandoned_qty(led, account)
        for inst in sorted(set(expected) | set(actual)):
            diff = actual.get(inst, ZERO) - expected.get(inst, ZERO)
            if diff == 0:
                continue
            spec = instrument_of(led, venues, account, inst)
            price = _price(led, account, inst, vd)
            if spec is not None and spec.is_dust(diff, price):
                continue
            if _closed_on_venue(diff, abandoned.get(inst, ZERO), spec, price):
                continue  # explained: reported (and closed) by retired_flat
            holders = _holders(led, account, inst)
            live = [v for v in holders if v not in led.retired()]
            out.append(Finding(
                "ledger_vs_venue", Severity.CRITICAL, None,
                {"subject": f"{account}:{inst}", "account": account, "instrument": inst,
                 "ledger": expected.get(inst, ZERO), "venue": actual.get(inst, ZERO), "difference": diff,
                 "value": abs(diff) * price, "variants": live, "retired_variants": sorted(set(holders) - set(live))},
                "ledger-vs-venue",
                f"{account} {inst}: venue holds {actual.get(inst, ZERO)}, ledger {expected.get(inst, ZERO)} "
                f"(difference {diff}, beyond dust)",
            ))
    return out


def retired_flat(led: LedgerData, venues: Mapping[str, VenueData]) -> list[Finding]:
    """Every retired variant is flat except recorded dust, in the ledger and on the venue.

    Ledger side: a retired variant's own non-dust position; for an abandoned one (``retire
    --abandon``), until the venue shows that exposure gone. Venue side: exposure beyond dust
    on an instrument that only retired variants ever traded (nobody live would manage it).
    """
    retired = led.retired()
    abandoned = led.abandoned()
    out = []
    for p in led.positions:
        if p.variant not in retired or p.qty == 0:
            continue
        spec = instrument_of(led, venues, p.account, p.instrument)
        price = position_price(p, led.marks)
        if spec is not None and spec.is_dust(p.qty, price):
            continue
        vd = venues.get(p.account)
        if p.variant in abandoned and vd is not None and not vd.error:
            diff = venue_quantities(vd).get(p.instrument, ZERO) - _expected(led, vd).get(p.instrument, ZERO)
            if _closed_on_venue(diff, _abandoned_qty(led, p.account).get(p.instrument, ZERO), spec, price):
                continue  # abandoned, and the venue confirms its exposure is gone
        out.append(Finding(
            "retired_flat", Severity.CRITICAL, p.variant,
            {"subject": f"{p.account}:{p.instrument}", "account": p.account, "instrument": p.instrument,
             "qty": p.qty, "value": abs(p.qty) * price, "age_s": age_s(led, p.opened or p.updated),
             "source": "ledger"},
            "invisible-exposure",
            f"retired {p.variant} still holds {p.qty} {p.instrument} (~{abs(p.qty) * price:.2f}) beyond dust",
        ))
    for account, vd in sorted(venues.items()):
        if vd.error:
            continue
        expected = _expected(led, vd)
        for inst, venue_qty in venue_quantities(vd).items():
            holders = _holders(led, account, inst)
            if not holders or any(v not in retired for v in holders):
                continue
            residual = venue_qty - expected.get(inst, ZERO)
            spec = instrument_of(led, venues, account, inst)
            price = _price(led, account, inst, vd)
            if residual == 0 or (spec is not None and spec.is_dust(residual, price)):
                continue
            if _closed_on_venue(residual, _abandoned_qty(led, account).get(inst, ZERO), spec, price):
                continue  # an abandoned variant's exposure, closed on the venue
            for v in holders:
                out.append(Finding(
                    "retired_flat", Severity.CRITICAL, v,
                    {"subject": f"{account}:{inst}:venue", "account": account, "instrument": inst,
                     "venue_qty": venue_qty, "unexplained": residual, "value": abs(residual) * price, "source": "venue"},
                    "invisible-exposure",
                    f"{account} holds {residual} {inst} beyond the ledger on an instrument only retired "
                    f"variants ({', '.join(holders)}) traded",
                ))
    return out


def orphan_orders(led: LedgerData, venues: Mapping[str, VenueData]) -> list[Finding]:
    """Open orders on the venue the ledger does not know (or thinks closed), and vice versa."""
    out = []
    grace = led.settings.order_grace_s
    for account, vd in sorted(venues.items()):
        if vd.error:
            out.append(_unreadable("orphan_orders", vd))
            continue
        for rep in vd.open_orders:
            order = led.orders.get(rep.client_order_id)
            status = led.status.get(rep.client_order_id)
            if order is not None and is_open(status):
                continue
            why = "unknown to the ledger" if order is None else f"closed in the ledger ({status})"
            out.append(Finding(
                "orphan_orders", Severity.WARNING, order.variant if order else None,
                {"subject": f"venue:{rep.client_order_id}", "account": account, "client_order_id": rep.client_order_id,
                 "venue_order_id": rep.venue_order_id, "instrument": rep.instrument, "side": rep.side.value,
                 "qty": rep.qty, "price": rep.price, "ledger_status": status},
                "orphan-orders", f"{account}: open venue order {rep.client_order_id} is {why}",
            ))
        for cid, rep in sorted(vd.lookups.items()):
            order = led.orders[cid]
            age = age_s(led, order.created)
            if age is not None and age < grace:
                continue
            why = "unknown to the venue" if rep is None else f"{rep.status.value} on the venue"
            out.append(Finding(
                "orphan_orders", Severity.WARNING, order.variant,
                {"subject": f"ledger:{cid}", "account": account, "client_order_id": cid,
                 "instrument": order.instrument, "ledger_status": led.status.get(cid),
                 "venue_status": rep.status.value if rep else None, "age_s": age},
                "orphan-orders", f"{order.variant}: ledger-open order {cid} is {why}",
            ))
    return out
