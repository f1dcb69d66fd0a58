"""Checks of the ledger against itself: positions vs fills, multi-leg groups, costs.

Each is a pure function ``(LedgerData, venues) -> list[Finding]``; ``venues`` may be empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from runner.audit.findings import Finding, Severity
from runner.audit.group_window import market_now, tolerances
from runner.audit.inputs import LedgerData, VenueData
from runner.kinds.base import NO_TOLERANCE
from runner.ledger.jsonable import aware
from runner.ledger.positions import derive
from runner.money import kalshi_fee_cents

ZERO = Decimal(0)
EXACT = Decimal("1e-12")


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= EXACT * max(Decimal(1), abs(a), abs(b))


def fills_vs_positions(led: LedgerData, _venues: Mapping[str, VenueData]) -> list[Finding]:
    """Every materialized position equals what its fills imply (size, average cost, PnL, fees).

    Compared field by field, per position: a row altered in place is caught even when the
    number of rows and the totals across variants still match.
    """
    by_key: dict[tuple[str, str], list] = defaultdict(list)  # type: ignore[type-arg]
    for f in led.fills:
        by_key[(f.variant, f.instrument)].append((1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts))
    out = []
    rows = {(p.variant, p.instrument): p for p in led.positions}
    for key in sorted(set(by_key) | set(rows)):
        variant, inst = key
        derived = derive(by_key.get(key, []))
        p = rows.get(key)
        stored = (p.qty, p.avg_price, p.realized_pnl, p.fees) if p else (ZERO, ZERO, ZERO, ZERO)
        want = (derived.qty, derived.avg_price, derived.realized_pnl, derived.fees)
        names = ("qty", "avg_price", "realized_pnl", "fees")
        bad = [n for n, s, w in zip(names, stored, want, strict=True) if not _close(s, w)]
        if not bad and (p is not None or derived.qty == 0):
            continue
        out.append(Finding(
            "fills_vs_positions", Severity.CRITICAL, variant,
            {"subject": inst, "instrument": inst, "account": p.account if p else None, "fields": bad or ["missing_row"],
             "position": dict(zip(names, stored, strict=True)), "from_fills": dict(zip(names, want, strict=True)),
             "fills": len(by_key.get(key, []))},
            "fills-vs-positions",
            f"{variant} {inst}: position row disagrees with its {len(by_key.get(key, []))} fills on {', '.join(bad) or 'existence'}",
        ))
    return out


def groups_balanced(led: LedgerData, _venues: Mapping[str, VenueData]) -> list[Finding]:
    """Every multi-leg group has all its legs, with equal filled size: opened and closed together.

    A leg is an instrument of the group; its size is the net filled quantity. Legs differ by
    at most the coarsest lot among them. While an order of the group is still working the
    group is in flight (warning); with nothing working it is a breach (critical), unless the
    owning kind is still inside its own repair window, or within its declared leg mismatch
    (``runner.audit.group_window``).

    A binary market's settlement is the venue closing the variant's whole position on a leg,
    across every group that built it (one fill, no group): it closes each of those groups'
    legs on that instrument. Without this an orphan the market settled before the sweep could
    sell it stayed "held" in its group forever, a false critical on a flat variant. A pair
    the venue netted (netting fills, no group) leaves the groups that held it (``_net_groups``).
    """
    legs: dict[str, dict[str, Decimal]] = defaultdict(dict)
    owner: dict[str, str] = {}
    accounts: dict[str, str] = {}
    last_fill: dict[str, datetime] = {}
    for o in led.orders.values():
        if o.group_id:
            legs[o.group_id].setdefault(o.instrument, ZERO)
            owner.setdefault(o.group_id, o.variant)
            accounts.setdefault(o.group_id, o.account)
    holding: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (variant, account, leg) -> groups
    paired: dict[tuple[str, str, str, object], Decimal] = {}  # a netting's pair part, booked with its first leg
    rank = {g: i for i, g in enumerate(legs)}  # groups in the order their orders were placed
    for f in led.fills:  # oldest first: a settlement closes only the legs filled before it
        order = led.orders.get(f.client_order_id or "")
        gid = f.group_id or (order.group_id if order else None)  # the order's group is authoritative
        if gid is None and f.liquidity == "settlement":
            for g in holding.pop((f.variant, f.account, f.instrument), ()):
                legs[g][f.instrument] = ZERO
        elif gid is None and f.liquidity == "netting":
            _net_groups(f, legs, holding, paired, rank)
        elif gid and f.flag != "close_dust":
            net = legs[gid].get(f.instrument, ZERO)
            legs[gid][f.instrument] = net + (f.qty if f.side == "buy" else -f.qty)
            owner.setdefault(gid, f.variant)
            accounts.setdefault(gid, f.account)
            holding[(f.variant, f.account, f.instrument)].add(gid)
            last_fill[gid] = f.ts
    working = {o.group_id for o in led.open_orders() if o.group_id}
    allowed = tolerances(led)
    now = market_now(led) if last_fill else led.now
    out = []
    for gid, sizes in sorted(legs.items()):
        lots = [led.instruments[(accounts[gid], s)].lot_size for s in sizes if (accounts[gid], s) in led.instruments]
        absz = [abs(q) for q in sizes.values()]
        grace = allowed.get(owner.get(gid, ""), NO_TOLERANCE)
        tol = max(max(lots, default=ZERO), Decimal(str(grace.mismatch)) * max(absz, default=ZERO))
        if len(sizes) >= 2 and max(absz) - min(absz) <= tol:
            continue
        if len(sizes) < 2 and all(q == 0 for q in absz):
            continue  # a one-order group that never filled: nothing is exposed
        since = (now - aware(last_fill[gid])).total_seconds() if gid in last_fill else None
        repairing = grace.repair_s > 0 and since is not None and since < grace.repair_s
        sev = Severity.WARNING if gid in working or repairing else Severity.CRITICAL
        out.append(Finding(
            "groups_balanced", sev, owner.get(gid),
            {"subject": f"group:{gid}", "group": gid, "legs": {s: q for s, q in sizes.items()},
             "in_flight": gid in working, "repairing": repairing,
             **({"repair_window_s": grace.repair_s, "since_last_fill_s": round(since, 3)} if repairing else {})},
            "unbalanced-pair",
            f"group {gid} of {owner.get(gid)} is unbalanced: " + ", ".join(f"{s} {q}" for s, q in sizes.items()),
        ))
    return out


def _net_groups(f, legs: dict[str, dict[str, Decimal]], holding: dict[tuple[str, str, str], set[str]],  # type: ignore[no-untyped-def]
                paired: dict[tuple[str, str, str, object], Decimal], rank: dict[str, int]) -> None:
    """A pair the venue netted (Kalshi, the sim): its YES and NO netting fills (no group) leave
    the groups that held the legs. Groups holding both legs give up whole pairs first, oldest
    first, so a balanced group stays balanced; what is left (a pair made of two orphans) comes
    off the groups holding that leg alone, oldest first."""
    market, _sep, side = f.instrument.rpartition(":")
    other = f"{market}:{'no' if side == 'yes' else 'yes'}"
    key = (f.variant, f.account, market, f.ts)
    mine, theirs = holding.get((f.variant, f.account, f.instrument), set()), holding.get(
        (f.variant, f.account, other), set())
    if key in paired:  # the second leg of this netting: the pair part came off already
        left = f.qty - paired.pop(key)
    else:
        left = f.qty
        for g in sorted(mine & theirs, key=lambda g: rank.get(g, len(rank))):
            take = min(left, max(legs[g].get(f.instrument, ZERO), ZERO), max(legs[g].get(other, ZERO), ZERO))
            if take > 0:
                legs[g][f.instrument] -= take
                legs[g][other] -= take
                left -= take
        paired[key] = f.qty - left
    for g in sorted(mine, key=lambda g: rank.get(g, len(rank))):
        take = min(left, max(legs[g].get(f.instrument, ZERO), ZERO))
        if take > 0:
            legs[g][f.instrument] -= take
            left -= take


CASHFLOWS = frozenset({"funding", "settlement", "netting", "transfer"})  # netting: a pair the venue netted;
# transfer: a handover between two versions (runner promote), never on the venue


def cost_sanity(led: LedgerData, _venues: Mapping[str, VenueData]) -> list[Finding]:
    """Fee per fill within the venue's schedule; fill price within the variant's slippage band.

    The band of a taker order is its own ``execution.slippage_cap_bps`` around the reference
    price the order was priced from; a maker fill must be at its limit or better. Both get
    ``Settings.slippage_tolerance_bps`` on top; fees get ``Settings.fee_tolerance``.
    """
    caps = _slippage_caps(led)
    tol_fee = led.settings.fee_tolerance
    tol_bps = led.settings.slippage_tolerance_bps
    out = []
    for f in led.fills:
        if f.flag == "close_dust" or f.liquidity in CASHFLOWS:
            continue  # transfers and venue cashflows (funding, settlement) are not trades
        inst = led.instruments.get((f.account, f.instrument))
        notional = f.qty * f.price
        if inst is not None and inst.kind == "binary":  # Kalshi's schedule: a rounded-up formula, not a rate
            high = kalshi_fee_cents(f.qty, f.price, max(inst.maker_fee, inst.taker_fee, ZERO)) * (1 + tol_fee)
            if not ZERO <= f.fee <= high:
                out.append(_cost(f, "fee", {"fee": f.fee, "allowed_max": high, "allowed_min": ZERO,
                                            "maker_fee": inst.maker_fee, "taker_fee": inst.taker_fee},
                                 f"fee {f.fee} outside the venue's schedule (0..{high:.2f} cents)"))
        elif inst is not None:
            high = notional * max(inst.maker_fee, inst.taker_fee, ZERO) * (1 + tol_fee) + Decimal("1e-8")
            low = notional * min(inst.maker_fee, inst.taker_fee, ZERO) * (1 + tol_fee) - Decimal("1e-8")
            if not low <= f.fee <= high:
                out.append(_cost(f, "fee", {"fee": f.fee, "allowed_max": high, "allowed_min": low,
                                            "maker_fee": inst.maker_fee, "taker_fee": inst.taker_fee},
                                 f"fee {f.fee} outside the venue's schedule ({low:.8f}..{high:.8f})"))
        order = led.orders.get(f.client_order_id or "")
        if order is None or order.price is None or order.price <= 0:
            continue
        sign = 1 if f.side == "buy" else -1
        taker = order.tif == "ioc" or f.liquidity == "taker"
        cap = caps.get(order.variant, Decimal(20)) if order.tif == "ioc" else ZERO
        ref = order.price / (1 + sign * cap / 10_000) if taker else order.price
        slip = (f.price - ref) / ref * 10_000 * sign
        if slip > cap + tol_bps:
            out.append(_cost(f, "slippage", {"price": f.price, "reference": ref, "slippage_bps": slip,
                                             "band_bps": cap + tol_bps, "limit": order.price},
                             f"fill at {f.price} is {slip:.1f} bps worse than the reference {ref:.2f} "
                             f"(band {cap + tol_bps} bps)"))
    return out


def _cost(f, what: str, ev: dict, summary: str) -> Finding:  # type: ignore[no-untyped-def,type-arg]
    return Finding("cost_sanity", Severity.WARNING, f.variant,
                   {"subject": f"{what}:{f.fill_key}", "fill": f.fill_key, "instrument": f.instrument,
                    "order": f.client_order_id, **ev},
                   "cost-anomaly", f"{f.variant} {f.instrument} {summary}")


def _slippage_caps(led: LedgerData) -> dict[str, Decimal]:
    import yaml

    out = {}
    for vid, dep in led.deployments.items():
        try:
            doc = yaml.safe_load(dep.yaml_text) or {}
            cap = (doc.get("execution") or {}).get("slippage_cap_bps", 20.0)
            out[vid] = Decimal(str(cap))
        except (yaml.YAMLError, AttributeError, ArithmeticError, ValueError):
            out[vid] = Decimal(20)
    return out
