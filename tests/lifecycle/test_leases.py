"""Several runners on one ledger: each variant is traded by exactly one, and fails over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.ledger.store import Ledger
from tests.kit.home import drive, make_home, mr_yaml
from tests.kit.runner_time import wait_lease_lapsed

# Generous against scheduling jitter (a loaded machine can take a second for one step), yet
# short: the failover waits for it to run out once.
LEASE_S = 3


def _two_runners(tmp_path, url: str):  # type: ignore[no-untyped-def]
    home = make_home(tmp_path, runner_yaml=f"lease_ttl_s: {LEASE_S}\n")
    home.add_variant("MR_v13.yaml", mr_yaml())
    # b's own lease (once it took over) outlives the test: a's step after its comeback must find
    # the variant held, not take it back after a short lease of b's lapsed on a loaded machine
    a, b = home.runtime(Ledger(url)), home.runtime(Ledger(url), lease_ttl_s=120)
    a.start()
    b.start()
    return a, b


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_one_runner_per_variant_and_failover_when_it_dies(tmp_path, db: str, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    a, b = _two_runners(tmp_path, url)
    assert list(a.engines) == ["MR_v13"] and list(b.engines) == []  # b sees a's lease
    drive(a, 3)
    a.periodic.last["heartbeat"] = 0
    drive(a, 1)  # a renews
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)
    assert list(b.engines) == []  # a renews: b keeps out
    wait_lease_lapsed(b.ledger, "MR_v13", a.runner_id)  # a dies: stops renewing, and its lease runs out
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)
    assert list(b.engines) == ["MR_v13"]  # b took over once the lease lapsed
    assert b.ledger.state("MR_v13").owner == b.runner_id  # type: ignore[union-attr]
    a.periodic.last["heartbeat"] = 0
    a.step()  # a comes back: its renewal finds the lease gone, and it stops trading the variant
    assert list(a.engines) == []
    b.stop()
    assert b.ledger.state("MR_v13").owner is None  # type: ignore[union-attr]


def test_a_lease_is_renewed_once_its_variant_has_spawned(tmp_path) -> None:
    """A spawn (venue connect, warm-up) can take longer than the margin left on the lease taken
    just before it: the runner renews after the spawn, not only at its next heartbeat."""
    home = make_home(tmp_path, runner_yaml=f"lease_ttl_s: {LEASE_S}\n")
    home.add_variant("MR_v13.yaml", mr_yaml())
    rt = home.runtime()
    rt.start()
    assert list(rt.engines) == ["MR_v13"]
    spawned = next(t for t in rt.ledger.transitions("MR_v13") if t.reason == "start").ts
    st = rt.ledger.state("MR_v13")
    assert st is not None and st.owner == rt.runner_id and st.lease_until is not None
    renewed = st.lease_until.replace(tzinfo=None) - timedelta(seconds=LEASE_S)
    assert renewed >= spawned.replace(tzinfo=None)  # renewed after the spawn wrote its first transition
    rt.stop()
