"""Booking the pairs a venue netted: YES and NO of one market held together are cash there.

Kalshi keeps one signed position per market: buying NO while holding YES closes YES, and the
pair is paid its 100c at once. A ledger that kept both legs held what the venue no longer
holds: exits of them were refused (Kalshi has nothing to sell) and limits counted exposure that
was cash. So, where the adapter declares ``nets_binary_legs``, the runtime books what the venue
did as soon as the fills that complete a pair are read (and retiring does it once more for
whatever is left): the paired quantity of each market leaves both legs at prices that sum to
the payout (YES at its average cost, NO at the rest), fee 0, liquidity ``netting``. The variant's realized PnL gains exactly
``payout - cost`` per pair, as a settlement would have paid it; the ledger-vs-venue check sees
no change (netted, both sides were already flat); only an unpaired remainder is left for a
reduce-only order the venue accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from runner.kinds.binary import NO, PAYOUT, YES, leg
from runner.ledger.positions import PositionState
from runner.ledger.store import NewFill

if TYPE_CHECKING:
    from runner.engine.variant import VariantEngine
    from runner.ledger.models import Fill

ZERO = Decimal(0)
HUNDRED = Decimal(repr(PAYOUT))


def netted_pairs(positions: Mapping[str, PositionState]) -> dict[str, Decimal]:
    """Market -> contracts held long on both legs (what the venue holds as cash)."""
    out = {}
    for sym, pos in positions.items():
        market, sep, side = sym.rpartition(":")
        if not sep or side != YES or pos.qty <= 0:
            continue
        no = positions.get(leg(market, NO))
        if no is not None and no.qty > 0:
            out[market] = min(pos.qty, no.qty)
    return out


def netting_fills(account: str, variant: str, run_id: str, positions: Mapping[str, PositionState],
                  ts: datetime) -> list[NewFill]:
    """The zero-fee fills that close each netted pair at prices summing to the payout."""
    out = []
    stamp = int(ts.timestamp() * 1000)
    for market, n in sorted(netted_pairs(positions).items()):
        yes_px = min(max(positions[leg(market, YES)].avg_price, ZERO), HUNDRED)
        for side, px in ((YES, yes_px), (NO, HUNDRED - yes_px)):
            sym = leg(market, side)
            out.append(NewFill(f"{account}:net:{sym}:{variant}:{stamp}", None, run_id, variant, account, sym,
                               "sell", n, px, ZERO, ts, "netting"))
    return out


def book_netted_pairs(eng: VariantEngine, ts: datetime | None = None) -> list[NewFill]:
    """Book the variant's netted pairs through its sink (ledger first, then its positions), at
    ``ts`` (default now; a backtest passes the fill's own time); the netting fills booked.
    Nothing where the venue keeps legs apart."""
    if not eng.venue.capabilities.nets_binary_legs:
        return []
    fills = netting_fills(eng.venue.account, eng.id, eng.run_id, eng.positions, ts or datetime.now(UTC))
    if not fills:
        return []
    netted = getattr(eng.strategy, "venue_netted", None)  # the kind still counts them (kalshi_sum's max_contracts)
    booked = eng.sink.fills(fills)
    for applied in booked:
        eng.on_fill(applied)
        market, _sep, side = applied.instrument.rpartition(":")
        if side == YES and isinstance(netted, dict):
            netted[market] = netted.get(market, 0.0) + float(applied.qty)
    return booked


def restore_netted(eng: VariantEngine, history: Sequence[Fill]) -> None:
    """At a (re)start, the pairs the ledger booked as netted count again for the kind
    (``venue_netted``), back to the variant's last settlement of each market: kept in memory
    only, a restart let kalshi_sum enter ``max_contracts`` more on a market that had not settled.
    A round that settled with nothing held books no settlement fill, so its pairs still count
    until the kind sees the market settle again: fewer entries, never more."""
    netted = getattr(eng.strategy, "venue_netted", None)
    if not isinstance(netted, dict):
        return
    for f in sorted(history, key=lambda f: f.ts):
        market, sep, side = f.instrument.rpartition(":")
        if not sep:
            continue
        if f.liquidity == "settlement":
            netted.pop(market, None)
        elif f.liquidity == "netting" and side == YES:
            netted[market] = netted.get(market, 0.0) + float(f.qty)


def held_markets(qtys: Mapping[str, Decimal]) -> set[str]:
    """Binary markets with a leg still held (instrument -> signed quantity): a retired variant
    reads them for their settlement."""
    out = set()
    for sym, qty in qtys.items():
        market, sep, side = sym.rpartition(":")
        if qty and sep and side in (YES, NO):
            out.add(market)
    return out
