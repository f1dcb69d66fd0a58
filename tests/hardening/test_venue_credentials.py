"""Credentials: a malformed key is a clear error naming its variable; `venues check` proves a key
where the venue allows and says what it could not prove (Hyperliquid SDK in the loop, HTTP faked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from runner.errors import BadInputError
from tests.venues import test_hyperliquid_fake as fake
from venues.base import AccountConfig
from venues.hyperliquid import adapter as hl_adapter
from venues.hyperliquid.adapter import HyperliquidAdapter
from venues.hyperliquid.config import HyperliquidConfig

OTHER = "0x1111111111111111111111111111111111111111"


@pytest.fixture
def hl() -> Iterator[fake.FakeHyperliquid]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield fake.FakeHyperliquid(rsps)


@pytest.mark.parametrize("key", ["nothex", "0x1234", "0x" + "g" * 64, fake.TEST_KEY + "00"])
def test_a_malformed_hyperliquid_key_names_its_variable_not_its_value(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("T_HL_KEY", key)
    with pytest.raises(BadInputError) as err:
        hl_adapter.create(AccountConfig("hl", "hyperliquid", {"testnet": True}, {"secret_key": "T_HL_KEY"}))
    assert "$T_HL_KEY" in str(err.value) and "malformed" in str(err.value)
    assert key not in str(err.value)


def test_venues_check_reports_a_malformed_key_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "venues.yaml").write_text("hl:\n  adapter: hyperliquid\n  testnet: true\n"
                                          "  credentials: {secret_key: T_HL_KEY}\n")
    res = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "venues", "check", "--json"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "T_HL_KEY": "0xnot-a-key"})
    assert res.returncode == 1 and "Traceback" not in res.stderr
    (acct,) = json.loads(res.stdout)["accounts"]
    assert not acct["ok"] and acct["stage"] == "config" and "$T_HL_KEY" in acct["error"]
    assert "0xnot-a-key" not in res.stdout + res.stderr


def test_a_key_whose_address_has_an_account_is_proven(hl: fake.FakeHyperliquid) -> None:
    hl.info["userRole"] = {"role": "user"}
    proved, how = fake.make_adapter().prove_credentials()
    assert proved is True and "userRole" in how
    assert {"type": "userRole", "user": fake.ADDRESS} in [b for _, b in hl.requests]


def test_a_well_formed_but_wrong_key_is_not_ok(hl: fake.FakeHyperliquid) -> None:
    hl.info["userRole"] = {"role": "missing"}
    proved, why = fake.make_adapter().prove_credentials()
    assert proved is False and "no account" in why


def _agent_adapter() -> HyperliquidAdapter:
    cfg = HyperliquidConfig()
    v = HyperliquidAdapter("hl-test", cfg, cfg.base_url(None), secret_key=fake.TEST_KEY, account_address=OTHER)
    v.connect()
    return v


def test_an_agent_key_is_proven_only_for_the_account_that_approved_it(hl: fake.FakeHyperliquid) -> None:
    hl.info["userRole"] = {"role": "agent", "data": {"user": OTHER}}
    assert _agent_adapter().prove_credentials()[0] is True
    hl.info["userRole"] = {"role": "agent", "data": {"user": "0x2222222222222222222222222222222222222222"}}
    proved, why = _agent_adapter().prove_credentials()
    assert proved is False and "not" in why and OTHER in why
