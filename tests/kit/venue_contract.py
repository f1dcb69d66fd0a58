"""The one contract every venue adapter passes (sim included).

A venue's test module subclasses :class:`VenueContract` and implements the scenario hooks
with its own faked transport (respx / responses / a fake SDK transport), payloads shaped
exactly like the venue's documented responses. The assertions live here, once.
"""

from __future__ import annotations

import abc
from decimal import Decimal

import pytest

from runner.errors import AmbiguousError, PostOnlyRejected, PrecisionError, RejectedError, TransientError
from venues.base import (
    BookSnapshot,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueAdapter,
    net_binary_legs,
)


class VenueContract(abc.ABC):
    """Subclass as ``TestXxxContract`` and implement the hooks."""

    #: an instrument symbol the faked venue lists
    symbol: str
    #: a quantity that is a valid multiple of the lot, and one with extra digits below the lot
    good_qty: Decimal
    sub_lot_qty: Decimal
    #: a valid limit price for ``symbol`` (inside any band)
    price: Decimal
    #: whether the venue waives its minimum size / notional for a reduce-only full close
    waives_close_minimum: bool = False
    #: the venue takes a crossing post-only order and cancels it (OKX: cancelSource 31) instead
    #: of refusing it at placement; the lookup must then say why
    post_only_cancelled_after_placement: bool = False
    #: a contract market of the venue, whose own unit is a contract of ``contract_value`` base
    #: units (OKX BTC-USDT-SWAP: ctVal 0.01 BTC), with a quantity (base units, whole contracts)
    #: and a price for it. None: ``symbol``, where the venue's unit is the base unit (value 1)
    contract_symbol: str | None = None
    contract_value: Decimal = Decimal(1)
    contract_qty: Decimal | None = None
    contract_price: Decimal | None = None
    #: contracts of a binary leg for the netting case, where ``good_qty`` is not whole
    binary_qty: Decimal | None = None

    @abc.abstractmethod
    def venue(self) -> VenueAdapter:
        """A connected adapter whose transport is faked (called inside the scenario)."""

    @abc.abstractmethod
    def scenario_accept(self, cid: str) -> None:
        """Make the venue accept the next order with client id ``cid`` (resting, unfilled)."""

    @abc.abstractmethod
    def scenario_reject(self, cid: str) -> None:
        """Make the venue refuse the next order (e.g. insufficient margin / bad price)."""

    @abc.abstractmethod
    def scenario_server_error(self) -> None:
        """Make the venue answer the next request with a 5xx / unavailable."""

    @abc.abstractmethod
    def scenario_timeout_then_lookup(self, cid: str) -> None:
        """The next submit times out after the venue accepted it; a lookup by ``cid`` finds it."""

    @abc.abstractmethod
    def scenario_fills(self, cid: str, chunks: list[Decimal]) -> None:
        """The order ``cid`` (already accepted) fills in ``chunks``; fills() reports them."""

    def scenario_unknown(self, cid: str) -> None:  # noqa: B027 - optional
        """Make a lookup of ``cid`` find nothing (default: nothing to arrange)."""

    @abc.abstractmethod
    def scenario_accept_then_server_error(self, cid: str) -> None:
        """The venue takes the next order, then a gateway answers 502; a lookup finds it."""

    @abc.abstractmethod
    def scenario_accept_then_drop(self, cid: str) -> None:
        """The venue takes the next order, then the connection drops before the answer."""

    @abc.abstractmethod
    def scenario_connect_refused(self) -> None:
        """The next request cannot connect at all (nothing leaves)."""

    @abc.abstractmethod
    def scenario_post_only_cross(self, cid: str) -> None:
        """The next (post-only) order would cross the book: the venue refuses it its own way."""

    @abc.abstractmethod
    def scenario_cashflow(self) -> tuple[str, str, Decimal]:
        """The venue records one cashflow outside a trade (funding, a fee taken from an asset, a
        settlement); returns (kind, instrument, amount) as the adapter must report it."""

    @abc.abstractmethod
    def scenario_book(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        """The venue's book for ``symbol`` has these levels (either side may be empty)."""

    @abc.abstractmethod
    def scenario_sent_amount(self, cid: str) -> Decimal:
        """The size the venue recorded for order ``cid``, in the venue's own unit (contracts)."""

    def scenario_fill_venue_units(self, cid: str, amount: Decimal) -> None:
        """The order ``cid`` fills ``amount`` in the venue's own unit (default: base units)."""
        self.scenario_fills(cid, [amount])

    def scenario_binary_pair(self, qty: Decimal) -> str | None:
        """The account bought ``qty`` YES and then ``qty`` NO of one binary market (through the
        adapter, filled); returns the market. None: the venue has no binary markets to trade."""
        return None

    def scenario_settlement(self) -> tuple[str, str, Decimal, Decimal, Decimal, Decimal] | None:
        """A binary market the account held settled; returns (ticker, result, yes_count, no_count,
        revenue, fee) as the venue's own record says. None: the venue has no binary markets."""
        return None

    # --- the contract --------------------------------------------------------------------
    def _req(self, cid: str, qty: Decimal | None = None) -> OrderRequest:
        return OrderRequest(cid, self.symbol, Side.BUY, qty or self.good_qty, OrderType.LIMIT, self.price,
                            TimeInForce.GTC)

    def test_precision_floors_quantity_to_the_lot_never_up(self) -> None:
        v = self.venue()
        inst = v.instrument(self.symbol)
        prepared = v.prepare(self._req("c-prec", self.good_qty + self.sub_lot_qty))
        assert prepared.qty == inst.floor_qty(self.good_qty + self.sub_lot_qty)
        assert prepared.qty <= self.good_qty + self.sub_lot_qty
        assert (prepared.qty / inst.lot_size) % 1 == 0

    def test_quantity_that_floors_to_zero_is_refused_locally(self) -> None:
        v = self.venue()
        with pytest.raises(PrecisionError):
            v.prepare(self._req("c-zero", self.sub_lot_qty))

    def test_submit_carries_our_client_order_id_and_lookup_finds_it(self) -> None:
        v = self.venue()
        self.scenario_accept("c0ffee01")
        rep = v.submit(v.prepare(self._req("c0ffee01")))
        assert rep.client_order_id == "c0ffee01"
        assert rep.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
        found = v.order("c0ffee01", self.symbol)
        assert found is not None and found.client_order_id == "c0ffee01"

    def test_lookup_of_an_unknown_client_id_is_none(self) -> None:
        v = self.venue()
        self.scenario_unknown("deadbeef")
        assert v.order("deadbeef", self.symbol) is None

    def test_venue_refusal_is_rejected_with_the_venues_reason(self) -> None:
        v = self.venue()
        self.scenario_reject("c0ffee02")
        with pytest.raises(RejectedError) as info:
            v.submit(v.prepare(self._req("c0ffee02")))
        assert info.value.reason

    def test_timeout_after_send_is_ambiguous_and_resolved_by_client_id(self) -> None:
        v = self.venue()
        self.scenario_timeout_then_lookup("c0ffee04")
        with pytest.raises(AmbiguousError):
            v.submit(v.prepare(self._req("c0ffee04")))
        found = v.order("c0ffee04", self.symbol)
        assert found is not None and found.client_order_id == "c0ffee04"

    def test_fills_accumulate_per_order(self) -> None:
        v = self.venue()
        self.scenario_accept("c0ffee05")
        v.submit(v.prepare(self._req("c0ffee05")))
        chunks = [self.good_qty / 4, self.good_qty / 4, self.good_qty / 2]
        self.scenario_fills("c0ffee05", chunks)
        page = v.fills(None)
        mine = [f for f in page.fills if f.client_order_id == "c0ffee05"]
        assert len(mine) == len(chunks)
        assert sum(f.qty for f in mine) == sum(chunks)
        assert len({f.fill_id for f in mine}) == len(chunks)
        again = v.fills(page.cursor)
        assert not [f for f in again.fills if f.fill_id in {m.fill_id for m in mine}]

    # --- venue semantics at the boundary (issue 13) ---------------------------------------
    def test_server_error_after_send_is_ambiguous_never_send_failed(self) -> None:
        """A 5xx to an order may come after the venue took it: look it up, never count a failure."""
        v = self.venue()
        self.scenario_server_error()
        with pytest.raises(AmbiguousError) as info:
            v.submit(v.prepare(self._req("c0ffee03")))
        assert info.value.client_order_id == "c0ffee03"

    def test_502_after_the_venue_took_the_order_is_found_by_client_id(self) -> None:
        v = self.venue()
        self.scenario_accept_then_server_error("c0ffee06")
        with pytest.raises(AmbiguousError):
            v.submit(v.prepare(self._req("c0ffee06")))
        found = v.order("c0ffee06", self.symbol)
        assert found is not None and found.client_order_id == "c0ffee06" and found.status.is_open

    def test_dropped_connection_after_send_is_ambiguous_and_found(self) -> None:
        v = self.venue()
        self.scenario_accept_then_drop("c0ffee07")
        with pytest.raises(AmbiguousError):
            v.submit(v.prepare(self._req("c0ffee07")))
        found = v.order("c0ffee07", self.symbol)
        assert found is not None and found.client_order_id == "c0ffee07"

    def test_connect_refused_is_transient_nothing_was_sent(self) -> None:
        v = self.venue()
        self.scenario_connect_refused()
        with pytest.raises(TransientError):
            v.submit(v.prepare(self._req("c0ffee08")))

    def test_post_only_cross_is_the_benign_refusal(self) -> None:
        """A maker quote that would take is a normal event on every venue that has post-only;
        a venue without it refuses the order as a real rejection (a capability mismatch)."""
        v = self.venue()
        req = v.prepare(self._req("c0ffee09"))
        req.tif = TimeInForce.POST_ONLY
        if not v.capabilities.post_only:
            with pytest.raises(RejectedError) as info:
                v.submit(req)
            assert not isinstance(info.value, PostOnlyRejected)
            return
        self.scenario_post_only_cross("c0ffee09")
        if self.post_only_cancelled_after_placement:
            v.submit(req)
            found = v.order("c0ffee09", self.symbol)
            assert found is not None and found.status is OrderStatus.CANCELLED and found.reason
            return
        with pytest.raises(PostOnlyRejected) as crossed:
            v.submit(req)
        assert crossed.value.reason

    def test_reduce_only_full_close_below_the_minimum(self) -> None:
        """One lot is below the venue's minimum notional at ``price``: an opening order is refused
        locally; a reduce-only close goes out only where the venue waives the minimum."""
        v = self.venue()
        inst = v.instrument(self.symbol)
        assert inst.close_waives_minimum is self.waives_close_minimum
        tiny = max(inst.lot_size, inst.min_size)
        below = tiny < inst.min_size or (inst.min_notional > 0 and tiny * self.price < inst.min_notional)
        opening = OrderRequest("c0ffee0a", self.symbol, Side.SELL, tiny, OrderType.LIMIT, self.price)
        closing = OrderRequest("c0ffee0b", self.symbol, Side.SELL, tiny, OrderType.LIMIT, self.price,
                               reduce_only=True)
        if not below:
            assert v.prepare(closing).qty == tiny  # no minimum above the lot: nothing to waive
            return
        with pytest.raises(PrecisionError):
            v.prepare(opening)
        if self.waives_close_minimum:
            assert v.prepare(closing).qty == tiny
            assert not inst.is_dust(tiny, self.price)  # closable: never hidden as dust
        else:
            with pytest.raises(PrecisionError):
                v.prepare(closing)
            assert inst.is_dust(tiny, self.price)

    def test_contract_value_converts_quantities_at_the_boundary(self) -> None:
        """Quantities are base units everywhere in the runner (notional = qty x price); a venue
        counting contracts is converted at the adapter, both ways: what is sent, what fills,
        the lot and minimum (a contract value ignored made OKX BTC swaps 100x too big)."""
        v = self.venue()
        sym = self.contract_symbol or self.symbol
        qty, px, ct = self.contract_qty or self.good_qty, self.contract_price or self.price, self.contract_value
        inst = v.instrument(sym)
        assert (qty / inst.lot_size) % 1 == 0 and qty >= inst.min_size
        self.scenario_accept("c0ffee0c")
        req = v.prepare(OrderRequest("c0ffee0c", sym, Side.BUY, qty, OrderType.LIMIT, px, TimeInForce.GTC))
        assert req.qty == qty
        rep = v.submit(req)
        assert self.scenario_sent_amount("c0ffee0c") == qty / ct
        assert rep.qty == qty
        self.scenario_fill_venue_units("c0ffee0c", qty / ct)
        mine = [f for f in v.fills(None).fills if f.client_order_id == "c0ffee0c"]
        assert mine and sum(f.qty for f in mine) == qty and all(f.instrument == sym for f in mine)
        found = v.order("c0ffee0c", sym)
        assert found is not None and found.qty == qty and found.filled_qty == qty
        if ct != 1:  # one contract is the least the venue trades: in base units, ``ct`` of them
            assert inst.lot_size <= ct and (ct / inst.lot_size) % 1 == 0

    @pytest.mark.parametrize("sides", ["empty", "no_asks", "no_bids"])
    def test_empty_or_one_sided_book_is_a_skip_reason_not_an_error(self, sides: str) -> None:
        v = self.venue()
        level = [(self.price, self.good_qty)]
        bids = level if sides == "no_asks" else []
        asks = level if sides == "no_bids" else []
        self.scenario_book(bids, asks)
        book = v.book(self.symbol)
        assert isinstance(book, BookSnapshot)
        assert book.gap == ("empty_book" if sides == "empty" else "one_sided_book")
        assert len(book.bids) == len(bids) and len(book.asks) == len(asks)

    def test_cashflows_are_read_from_the_venues_own_records(self) -> None:
        """Funding, asset-taken fees and settlements come from the venue's records (Hyperliquid
        userFunding, OKX bills, Alpaca CFEE, Kalshi settlements, the sim's funding table)."""
        v = self.venue()
        kind, inst, amount = self.scenario_cashflow()
        recs = v.cashflows(None)
        mine = [r for r in recs if r.kind == kind and r.instrument == inst]
        assert len(mine) == 1, recs
        assert isinstance(mine[0].amount, Decimal) and mine[0].amount == amount and mine[0].currency
        assert len({r.record_id for r in recs}) == len(recs)
        assert [r.ts for r in recs] == sorted(r.ts for r in recs)
        assert not [r for r in v.cashflows(mine[0].ts) if r.record_id == mine[0].record_id]  # after it: gone

    def test_a_yes_no_pair_is_held_as_the_venue_declares_it_nets(self) -> None:
        """A venue that declares ``nets_binary_legs`` (Kalshi) holds a YES+NO pair as nothing;
        one that does not holds both legs. The ledger keeps both legs and the ledger-vs-venue
        check nets them by this flag, so the flag must say what the venue does."""
        v = self.venue()
        qty = self.binary_qty or self.good_qty
        market = self.scenario_binary_pair(qty)
        if market is None:
            pytest.skip("no binary markets on this venue")
        legs = {f"{market}:yes": qty, f"{market}:no": qty}
        held = {p.instrument: p.qty for p in v.positions() if p.instrument.startswith(market) and p.qty}
        if v.capabilities.nets_binary_legs:
            assert held == {} and net_binary_legs(legs) == {f"{market}:yes": 0}
        else:
            assert held == legs

    def test_a_settlement_is_read_from_the_venues_own_record(self) -> None:
        """What a settled market paid is read through ``settlements()`` (Kalshi
        ``/portfolio/settlements``, the sim's payouts) and reported once as a cashflow in cents,
        net of its fee; the engine books the leg's closing fill from the same facts."""
        v = self.venue()
        expected = self.scenario_settlement()
        if expected is None:
            assert v.settlements() == []
            return  # no binary markets on this venue: nothing settles, and nothing is reported
        ticker, result, yes_count, no_count, revenue, fee = expected
        mine = [s for s in v.settlements() if s.ticker == ticker]
        assert len(mine) == 1
        s = mine[0]
        assert (s.result, s.yes_count, s.no_count, s.revenue, s.fee) == (result, yes_count, no_count, revenue, fee)
        assert s.settled is not None and s.settled.tzinfo is not None
        flows = [c for c in v.cashflows(None) if c.kind == "settlement" and c.instrument == ticker]
        assert len(flows) == 1 and flows[0].amount == revenue - fee and flows[0].qty == yes_count - no_count
        assert flows[0].currency == "USD_CENTS"
