"""Issue 13, venue semantics seen from the runtime: an empty or one-sided book is a skip
reason (never an exception, never a crash on restart), and client order ids are salted per
ledger (two deployments on one account never share one; one deployment keeps its ids across
restarts). Real runtime, ledger and sim; only the sim's book is pinned, as a settled market
leaves it."""

from __future__ import annotations

from pathlib import Path

from runner.engine.client_ids import client_order_id
from runner.ledger.identity import client_id_salt
from runner.ledger.models import MAIN_RUN
from runner.ledger.store import Ledger, default_url
from tests.kit.desk import Desk
from venues.base import BookSnapshot


def pin_book(desk: Desk, sym: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
    sim = desk.sim
    step = sim.store.db.execute("SELECT step FROM market WHERE instrument = ?", (sym,)).fetchone()[0]
    sim._books[sym] = (step, BookSnapshot(sym, 0.0, bids, asks))


def test_an_empty_then_one_sided_book_is_counted_as_a_skip_and_the_runtime_goes_on(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    try:
        pin_book(desk, "BTC-USD", [], [])
        desk.step(2)
        pin_book(desk, "BTC-USD", [(29990.0, 1.0)], [])
        desk.step(2)
        desk.rt.periodic.tick(desk.now + 60)  # flush the skip counts to the ledger
        skips = desk.ledger.skips(variant="MR_v1")
        assert skips.get("empty_book", 0) >= 2 and skips.get("one_sided_book", 0) >= 2
        assert desk.ledger.state("MR_v1").state == "active"  # type: ignore[union-attr]
    finally:
        desk.close()


def test_retiring_against_an_empty_book_waits_instead_of_crashing(tmp_path: Path) -> None:
    desk = Desk.create(tmp_path)
    try:
        desk.trade("MR_v1", "buy", "0.01")
        assert desk.position("MR_v1") != 0
        from runner import control

        control.retire(desk.ledger, "MR_v1")
        pin_book(desk, "BTC-USD", [], [])
        desk.step(3)  # no IndexError: the retire step skips and looks again
        assert desk.ledger.state("MR_v1").state == "retiring"  # type: ignore[union-attr]
        assert desk.rt.engines["MR_v1"].skips.get("empty_book", 0) + desk.ledger.skips(
            variant="MR_v1").get("empty_book", 0) >= 1
    finally:
        desk.close()


def test_client_ids_are_salted_per_ledger_and_stable_across_restarts(tmp_path: Path) -> None:
    a = Ledger(default_url(tmp_path / "a"))
    b = Ledger(default_url(tmp_path / "b"))
    try:
        salt_a, salt_b = client_id_salt(a), client_id_salt(b)
        assert salt_a != salt_b
        assert client_order_id(MAIN_RUN, "MR_v1", 7, salt_a) != client_order_id(MAIN_RUN, "MR_v1", 7, salt_b)
    finally:
        a.close()
        b.close()
    again = Ledger(default_url(tmp_path / "a"))  # a restart reads the stored salt back
    try:
        assert client_id_salt(again) == salt_a
    finally:
        again.close()


def test_two_deployments_of_one_variant_never_send_the_same_client_id(tmp_path: Path) -> None:
    first, second = Desk.create(tmp_path / "one"), Desk.create(tmp_path / "two")
    try:
        first.trade("MR_v1", "buy", "0.01")
        second.trade("MR_v1", "buy", "0.01")
        ids_one = {o.client_order_id for o in first.ledger.orders(variant="MR_v1")}
        ids_two = {o.client_order_id for o in second.ledger.orders(variant="MR_v1")}
        assert ids_one and ids_two and not ids_one & ids_two
        salt = client_id_salt(first.ledger)
        seqs = {o.seq for o in first.ledger.orders(variant="MR_v1")}
        assert ids_one == {client_order_id(MAIN_RUN, "MR_v1", s, salt) for s in seqs}
    finally:
        first.close()
        second.close()
