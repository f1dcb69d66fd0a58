"""Several runners on one ledger: each variant is traded by exactly one, and fails over."""

from __future__ import annotations

import time

import pytest

from runner.ledger.store import Ledger
from tests.kit.home import drive, make_home, mr_yaml


def _two_runners(tmp_path, url: str):  # type: ignore[no-untyped-def]
    home = make_home(tmp_path, runner_yaml="lease_ttl_s: 1.5\n")
    home.add_variant("MR_v13.yaml", mr_yaml())
    a, b = home.runtime(Ledger(url)), home.runtime(Ledger(url))
    a.start()
    b.start()
    return a, b


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_one_runner_per_variant_and_failover_when_it_dies(tmp_path, db: str, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/shared.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    a, b = _two_runners(tmp_path, url)
    assert list(a.engines) == ["MR_v13"] and list(b.engines) == []  # b sees a's lease
    drive(a, 3)
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)
    assert list(b.engines) == []  # a renews: b keeps out
    time.sleep(1.7)  # a dies: stops renewing
    b.periodic.last["heartbeat"] = 0
    drive(b, 1)
    assert list(b.engines) == ["MR_v13"]  # b took over once the lease lapsed
    assert b.ledger.state("MR_v13").owner == b.runner_id  # type: ignore[union-attr]
    a.periodic.last["heartbeat"] = 0
    a.step()  # a comes back: its renewal finds the lease gone, and it stops trading the variant
    assert list(a.engines) == []
    b.stop()
    assert b.ledger.state("MR_v13").owner is None  # type: ignore[union-attr]
