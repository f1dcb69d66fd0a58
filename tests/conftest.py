"""Test configuration. Shared fakes and builders live in tests/kit/, not here."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_stream_outlives_its_test() -> Iterator[None]:
    """A test that builds an adapter with create() (streaming on) and never closes it would
    leave its stream thread dialling the real venue for the rest of the run: close it."""
    yield
    from venues.ratelimit import forget_shared_budgets
    from venues.streams.feed import close_started

    close_started()
    forget_shared_budgets()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server that .ci/run starts on loopback.

    Locally, without RUNNER_TEST_PG_URL, these tests skip; in CI (CI=true) they must run.
    """
    base = os.environ.get("RUNNER_TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("RUNNER_TEST_PG_URL is not set in CI: .ci/run should have started PostgreSQL")
        pytest.skip("no PostgreSQL server (set RUNNER_TEST_PG_URL, as .ci/run does)")
    import psycopg

    name = f"runner_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
