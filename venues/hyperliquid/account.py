"""What the account holds and what happened to it, read from the venue: fills (with a cursor
that never repeats or skips one), perp positions, funding cashflows and balances. Reads only;
the pacing of fill reads by the stream is the adapter's, which owns the feed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from venues.base import BalanceReport, CashflowReport, FillPage, FillReport, PositionReport
from venues.hyperliquid import reports
from venues.hyperliquid.link import HyperliquidLink
from venues.hyperliquid.orders import HyperliquidOrders


class HyperliquidAccount:
    def __init__(self, link: HyperliquidLink, orders: HyperliquidOrders) -> None:
        self.link = link
        self.orders = orders  # which of our orders a fill is, and the fills it has seen

    def fills(self, cursor: str | None = None) -> FillPage:
        """Fills after ``cursor`` from ``userFillsByTime`` (at most 2000 a call), oldest first."""
        c = self.link.c()
        start, seen = reports.decode_cursor(cursor)
        rows = self.link.call(lambda: c.info.user_fills_by_time(self.link.user(), start), mutating=False)
        rows = sorted(rows, key=lambda f: (int(f["time"]), str(f.get("tid", ""))))
        out: list[tuple[int, FillReport]] = []
        for f in rows:
            rep = reports.fill_report(f, self.orders.cid_for_oid(int(f["oid"]), f), self.link.symbol(f["coin"]))
            if int(f["time"]) == start and rep.fill_id in seen:
                continue
            self.orders.fill_book.add(rep)
            out.append((int(f["time"]), rep))
        if not out:
            return FillPage([], cursor)
        last = out[-1][0]
        at_last = {rep.fill_id for ms, rep in out if ms == last} | (seen if last == start else set())
        return FillPage([rep for _, rep in out], reports.encode_cursor(last, at_last))

    def positions(self) -> list[PositionReport]:
        """Perp positions of every loaded dex, from ``clearinghouseState`` (spot holdings are
        balances)."""
        c, out = self.link.c(), []
        for dex in self.link.dexes():
            state = self.link.call(lambda d=dex: c.info.user_state(self.link.user(), d), mutating=False)
            for ap in state.get("assetPositions", []):
                p = ap["position"]
                qty = Decimal(str(p["szi"]))
                if qty != 0:
                    entry = p.get("entryPx")
                    out.append(PositionReport(self.link.symbol(p["coin"]), qty,
                                              Decimal(str(entry)) if entry is not None else None))
        return out

    def cashflows(self, since: datetime | None = None) -> list[CashflowReport]:
        """Funding paid or received, from the venue's ``userFunding`` records (``delta.usdc``:
        received > 0), oldest first."""
        start = int(since.timestamp() * 1000) + 1 if since is not None else 0
        rows = self.link.call(lambda: self.link.c().info.user_funding_history(self.link.user(), start),
                              mutating=False)
        out = []
        for r in rows or []:
            d = r.get("delta") or {}
            if d.get("type") != "funding":
                continue
            out.append(CashflowReport(f"funding:{d['coin']}:{r['time']}", "funding", self.link.symbol(str(d["coin"])),
                                      Decimal(str(d["usdc"])), "USDC", datetime.fromtimestamp(r["time"] / 1000, UTC)))
        return sorted((c for c in out if since is None or c.ts > since), key=lambda c: (c.ts, c.record_id))

    def balances(self) -> list[BalanceReport]:
        c = self.link.c()
        state = self.link.call(lambda: c.info.user_state(self.link.user()), mutating=False)
        summary = state.get("marginSummary", {})
        out = [BalanceReport("USDC", Decimal(str(summary.get("accountValue", "0"))),
                             Decimal(str(state.get("withdrawable", "0"))))]
        if self.link.config.spot:
            spot = self.link.call(lambda: c.info.spot_user_state(self.link.user()), mutating=False)
            for b in spot.get("balances", []):
                total = Decimal(str(b["total"]))
                out.append(BalanceReport(f"spot:{b['coin']}", total, total - Decimal(str(b.get("hold", "0")))))
        return out
