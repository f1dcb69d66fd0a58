"""Perps and binary markets on the sim venue, mixed into :class:`SimAdapter`.

Kept apart from the spot order book code so each file has one job: here the funding and
settlement cashflows the venue books on its own account (as a remote venue would), and the
books it serves for binary markets and their legs. Settlement facts are also served in
``BookSnapshot.extra`` so a runner can book its share of them in its ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runner.money import CENTS_QUOTE
from venues.base import BookSnapshot, Instrument, SettlementReport
from venues.sim import binary, funding
from venues.sim.config import SimBinaryEvent, SimConfig, SimInstrument
from venues.sim.store import SimStore

ZERO = Decimal(0)


class DerivativesMixin:
    config: SimConfig
    store: SimStore
    account: str
    _instruments: dict[str, Instrument]
    _used: dict[str, dict[float, float]]
    _books: dict[str, tuple[int, BookSnapshot]]

    if TYPE_CHECKING:  # provided by the adapter
        def clock(self) -> float: ...
        def _match_resting(self, db: Any, sym: str, book: BookSnapshot) -> None: ...

    # --- setup ---------------------------------------------------------------------------
    def _connect_binary(self, db: Any) -> None:
        self._event_of: dict[str, str] = {}
        for name, ev in self.config.binary_events.items():
            for m in binary.markets_of(name, ev):
                self._event_of[m] = name
                for outcome in (binary.YES, binary.NO):
                    sym = binary.leg(m, outcome)
                    self._instruments[sym] = Instrument(
                        sym, Decimal(1), Decimal(1), Decimal(1), ZERO, "binary", sym, m, CENTS_QUOTE,
                        maker_fee=ev.maker_fee, taker_fee=ev.taker_fee, price_band_pct=None,
                    )
                # the market itself: its book (both sides) is what a kind watches; never traded
                self._instruments[m] = Instrument(m, Decimal(1), Decimal(1), Decimal(1), ZERO, "binary_market", m, m,
                                                  "USD", price_band_pct=None)
                db.execute("INSERT OR IGNORE INTO market(instrument, step, mid, ts) VALUES (?, 0, ?, ?)",
                           (m, binary.prior(ev, name), self.clock()))
        self._settled: dict[str, dict[str, float]] = {}
        for m, rnd, yes_pays, ts in db.execute("SELECT market, round, yes_pays, ts FROM settlements ORDER BY id"):
            self._settled[m] = {"settled_id": float(rnd), "settled_yes": float(yes_pays), "settled_ts": ts}
        self._funded: dict[str, dict[str, float]] = {}
        for sym, interval, rate, ts in db.execute("SELECT instrument, interval, rate, ts FROM funding ORDER BY id"):
            self._funded[sym] = {"funding_settled_id": float(interval), "funding_settled_rate": rate,
                                 "funding_settled_ts": ts}

    # --- perps ---------------------------------------------------------------------------
    def _perp_step(self, db: Any, sym: str, ic: SimInstrument, step: int, mids: dict[str, float]) -> float:
        """The perp's mid at ``step``; settles funding on its account when the step is due."""
        under = mids.get(ic.underlying or "")
        if under is None:
            under = db.execute("SELECT mid FROM market WHERE instrument=?", (ic.underlying,)).fetchone()[0]
        rate = funding.funding_rate(ic, self.config.seed, sym, step)
        mid = funding.perp_mid(under, rate)
        if funding.is_settlement(ic, step):
            self._settle_funding(db, sym, step // ic.funding_every_steps, rate, mid)
        return mid

    def _settle_funding(self, db: Any, sym: str, interval: int, rate: float, mark: float) -> None:
        qty, cost = self.store.position(sym)
        amount = Decimal(repr(round(funding.payment(rate, float(qty), mark), 8)))
        now = self.clock()
        db.execute("INSERT INTO funding(instrument, interval, rate, qty, amount, ts) VALUES (?,?,?,?,?,?)",
                   (sym, interval, rate, str(qty), str(amount), now))
        if amount:
            self.store.set_balance("USD", (self.store.balance("USD") or ZERO) + amount)
        self._funded[sym] = {"funding_settled_id": float(interval), "funding_settled_rate": rate,
                             "funding_settled_ts": now}

    def _perp_extra(self, sym: str, step: int) -> dict[str, float]:
        ic = self.config.instruments[sym]
        out = {"funding_rate": funding.funding_rate(ic, self.config.seed, sym, step),
               "funding_interval_s": ic.funding_interval_s}  # as a venue states it: the kind annualizes by it
        out.update(self._funded.get(sym, {}))
        return out

    # --- binary markets --------------------------------------------------------------------
    def _advance_events(self, db: Any) -> None:
        for name, ev in self.config.binary_events.items():
            markets = binary.markets_of(name, ev)
            rows = {m: db.execute("SELECT step, mid FROM market WHERE instrument=?", (m,)).fetchone() for m in markets}
            step = rows[markets[0]][0] + 1
            if step % ev.round_steps == 0:
                self._settle_event(db, name, ev, {m: r[1] for m, r in rows.items()}, step)
                fairs = {m: binary.prior(ev, name) for m in markets}
            else:
                fairs = {m: binary.next_fair(ev, r[1], binary.prior(ev, name), binary.rng_for(self.config.seed, m, step))
                         for m, r in rows.items()}
            for m in markets:
                db.execute("UPDATE market SET step=?, mid=?, ts=? WHERE instrument=?", (step, fairs[m], self.clock(), m))
                for outcome in (binary.YES, binary.NO):
                    sym = binary.leg(m, outcome)
                    self._match_resting(db, sym, self._binary_snapshot(sym, m, step, fairs[m]))

    def _settle_event(self, db: Any, name: str, ev: SimBinaryEvent, fairs: dict[str, float], step: int) -> None:
        """Expiry: exactly one leg of each market pays 100c; the venue pays out and zeroes positions."""
        wm, outcome = binary.winner(fairs, binary.rng_for(self.config.seed, f"{name}#settle", step))
        rnd = step // ev.round_steps - 1
        now = self.clock()
        cash = self.store.balance("USD") or ZERO
        for m in fairs:
            yes_pays = 100 if (m == wm and outcome == binary.YES) else 0
            held = {}
            for leg_outcome, pays in ((binary.YES, yes_pays), (binary.NO, 100 - yes_pays)):
                sym = binary.leg(m, leg_outcome)
                qty, _cost = self.store.position(sym)
                held[leg_outcome] = (qty, qty * pays)
                if qty:
                    cash += qty * pays / Decimal(100)
                    self.store.set_position(sym, ZERO, ZERO)
            if any(q for q, _ in held.values()):  # the account's own record, as Kalshi's /portfolio/settlements
                db.execute("INSERT OR IGNORE INTO payouts VALUES (?,?,?,?,?,?,?)",
                           (m, rnd, binary.YES if yes_pays else binary.NO, str(held[binary.YES][0]),
                            str(held[binary.NO][0]), str(held[binary.YES][1] + held[binary.NO][1]), now))
            db.execute("INSERT INTO settlements(market, round, yes_pays, ts) VALUES (?,?,?,?)", (m, rnd, yes_pays, now))
            self._settled[m] = {"settled_id": float(rnd), "settled_yes": float(yes_pays), "settled_ts": now}
            db.execute("UPDATE orders SET status='cancelled', reason='market expired' WHERE instrument IN (?, ?)"
                       " AND status IN ('new','partially_filled')", (binary.leg(m, binary.YES), binary.leg(m, binary.NO)))
        self.store.set_balance("USD", cash)

    def _net_legs(self, db: Any, sym: str) -> None:
        """After a fill of a leg: YES and NO of one market held together net to the smaller, as
        on Kalshi, and each netted pair is paid its 100c at once. Each leg keeps its average cost."""
        market, outcome = binary.split_leg(sym)
        if outcome is None or market not in self._event_of:
            return
        (yq, yc), (nq, nc) = (self.store.position(binary.leg(market, o)) for o in (binary.YES, binary.NO))
        n = binary.netted(yq, nq)
        if not n:
            return
        for o, q, c in ((binary.YES, yq, yc), (binary.NO, nq, nc)):
            self.store.set_position(binary.leg(market, o), q - n, c * (q - n) / q)
        self.store.set_balance("USD", (self.store.balance("USD") or ZERO) + n)  # 100c a pair

    def settlements(self, min_ts: int | None = None) -> list[SettlementReport]:
        """Settled markets the account held, from the sim's payouts: newest first, as Kalshi's."""
        rows = self.store.db.execute(
            "SELECT market, result, yes_count, no_count, revenue, ts FROM payouts WHERE ts >= ? ORDER BY ts DESC,"
            " market DESC", (min_ts if min_ts is not None else -1.0,)).fetchall()
        return [SettlementReport(m, result, Decimal(y), Decimal(n), Decimal(rev), ZERO, datetime.fromtimestamp(ts, UTC))
                for m, result, y, n, rev, ts in rows]

    def _binary_snapshot(self, sym: str, market: str, step: int, fair: float, ts: float | None = None) -> BookSnapshot:
        """One leg's (or the market's) book at ``step``, stamped with the step's time (``ts``;
        default now): the markets of one step share it, as a backtest groups them."""
        cached = self._books.get(sym)
        if cached and cached[0] == step:
            return cached[1]
        name = self._event_of[market]
        ev = self.config.binary_events[name]
        yes_bids, no_bids = binary.book(ev, fair, binary.rng_for(self.config.seed, f"{market}#book", step))
        _m, outcome = binary.split_leg(sym)
        bids, asks = binary.leg_book(outcome, yes_bids, no_bids)
        extra = binary.extra(yes_bids, no_bids)
        extra.update(self._settled.get(market, {}))
        extra["round"] = float(step // ev.round_steps)
        extra["expires_in_steps"] = float(ev.round_steps - step % ev.round_steps)
        snap = BookSnapshot(sym, self.clock() if ts is None else ts, bids, asks, volume=0.0, extra=extra)
        self._books[sym] = (step, snap)
        self._used[sym] = {}
        return snap

    def _current_binary(self, sym: str) -> BookSnapshot | None:
        market, _outcome = binary.split_leg(sym)
        if market not in getattr(self, "_event_of", {}):
            return None
        step, fair, ts = self.store.db.execute("SELECT step, mid, ts FROM market WHERE instrument=?",
                                               (market,)).fetchone()
        return self._binary_snapshot(sym, market, step, fair, ts)
