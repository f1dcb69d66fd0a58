"""The one contract every venue adapter passes (sim included).

A venue's test module subclasses :class:`VenueContract` and implements the scenario hooks
with its own faked transport (respx / responses / a fake SDK transport), payloads shaped
exactly like the venue's documented responses. The assertions live here, once.
"""

from __future__ import annotations

import abc
from decimal import Decimal

import pytest

from runner.errors import AmbiguousError, PrecisionError, RejectedError, TransientError
from venues.base import OrderRequest, OrderStatus, OrderType, Side, TimeInForce, VenueAdapter


class VenueContract(abc.ABC):
    """Subclass as ``TestXxxContract`` and implement the hooks."""

    #: an instrument symbol the faked venue lists
    symbol: str
    #: a quantity that is a valid multiple of the lot, and one with extra digits below the lot
    good_qty: Decimal
    sub_lot_qty: Decimal
    #: a valid limit price for ``symbol`` (inside any band)
    price: Decimal

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

    def test_server_error_is_transient(self) -> None:
        v = self.venue()
        self.scenario_server_error()
        with pytest.raises(TransientError):
            v.submit(v.prepare(self._req("c0ffee03")))

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
