"""Secrets and files: database passwords and credentials masked in every output; state/ private."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from runner.engine.report import Reporter
from runner.engine.runtime import Runtime
from runner.ledger.store import Ledger
from runner.privacy import REDACTED, mask_text, redact
from runner.spec.deployment_config import load_runner_config, load_venues
from tests.kit.deployment import make_home
from tests.kit.process import cli


def test_a_connection_error_does_not_print_the_database_password(tmp_path: Path) -> None:
    res = cli(tmp_path, "--db", "postgresql://trader:Hunter2-secret@127.0.0.1:1/ledger", "status")
    assert res.returncode == 2
    assert "Hunter2-secret" not in res.stdout + res.stderr
    assert "trader:***@127.0.0.1" in res.stderr


def test_a_corrupt_ledger_is_a_clear_error_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "ledger.db").write_bytes(os.urandom(4096))
    res = cli(tmp_path, "status")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "ledger.db" in res.stderr and "not a database" in res.stderr


def test_the_start_up_line_masks_the_database_password(tmp_path: Path, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    # the test server trusts loopback: a password in the URL is accepted and ignored
    url = make_url(pg_url).set(password="Hunter2-secret").render_as_string(hide_password=False)
    home = make_home(tmp_path, {})
    out = io.StringIO()
    rt = Runtime(home, Ledger(url), load_venues(home), load_runner_config(home),
                 Reporter(Console(file=out, width=300)))
    rt.start()
    rt.stop()
    assert "Hunter2-secret" not in out.getvalue() and ":***@" in out.getvalue()


def test_credentials_named_in_venues_yaml_never_reach_the_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = 'k3y-"quoted"\\ünïcode'
    monkeypatch.setenv("TEST_SECRET_KEY", secret)
    home = make_home(tmp_path, {})
    (home / "venues.yaml").write_text((home / "venues.yaml").read_text()
                                      + "other:\n  adapter: sim\n  credentials: {apiKey: TEST_SECRET_KEY}\n")
    out = io.StringIO()
    rt = Runtime(home, Ledger(f"sqlite:///{home / 'state' / 'ledger.db'}"), load_venues(home),
                 load_runner_config(home), Reporter(Console(file=out, width=300)))
    rt.reporter.error(f"venue said: bad key {secret} / {json.dumps(secret)} / {secret!r}")
    rt.stop()
    assert REDACTED in out.getvalue()
    assert "k3y" not in out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=4, max_size=24).filter(lambda s: s.strip() == s and len(s.strip()) >= 4))
def test_redaction_covers_any_secret_in_raw_json_and_repr_form(secret: str) -> None:
    text = f"a {secret} b {json.dumps(secret)} c {json.dumps(secret, ensure_ascii=False)} d {secret!r}"
    assert secret not in redact(text, [secret]).replace(REDACTED, "\x00")


def test_mask_text_masks_url_and_keyword_passwords() -> None:
    assert mask_text("postgresql://u:p%40ss@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert mask_text("host=h password=s3cr3t user=u") == "host=h password=*** user=u"
    assert mask_text("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_state_is_private_and_the_ledger_and_sim_files_are_0600(tmp_path: Path) -> None:
    res = cli(tmp_path, "run", "--duration", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    state = tmp_path / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "ledger.db" for p in files)
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, f"{p} is readable by others"
