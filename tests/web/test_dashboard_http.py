"""The dashboard over plain HTTP: a real deployment (runtime, sim, SQLite ledger), the app on
the read-only ledger, requests through Starlette's test client. Nothing here is mocked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from runner import control
from runner.audit.findings import Finding, Severity
from runner.audit.store import record, start_run
from runner.ledger.store import default_url
from runner.readmodels.readonly import open_readonly
from runner.web.app import create_app
from tests.kit.desk import Desk

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="alert(1)">'


def _dump(home: Path) -> list[str]:
    con = sqlite3.connect(home / "state" / "ledger.db")
    try:
        return list(con.iterdump())
    finally:
        con.close()


@pytest.fixture
def desk(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",), "MR_v2": ("BTC-USD",)})
    d.trade("MR_v2", "buy", "0.01")
    d.step(2)
    control.pause(d.ledger, "MR_v1", reason=HOSTILE)
    d.step()
    run = start_run(d.ledger, ["retired_flat"], "operator")
    record(d.ledger, run, ["retired_flat"], [Finding("retired_flat", Severity.WARNING, "MR_v1", {"subject": "x"},
                                                      runbook="invisible-exposure", summary=f"exposure {HOSTILE}")])
    yield d
    d.close()


@pytest.fixture
def client(desk: Desk):  # type: ignore[no-untyped-def]
    led = open_readonly(default_url(desk.home))
    with TestClient(create_app(desk.home, led)) as c:
        yield c
    led.close()


def test_the_overview_shows_each_variant_its_state_why_and_pnl_in_the_account_currency(client, desk) -> None:
    page = client.get("/").text
    assert "RUNNING" not in page or "runner:" in page  # a Desk beats like a runner would
    for vid in ("MR_v1", "MR_v2"):
        assert f'data-variant="{vid}"' in page
    assert 'data-variant="MR_v1" data-state="paused"' in page
    assert 'data-variant="MR_v2" data-state="active"' in page
    assert "BTC-USD <b>0.01</b> @ " in page  # the position, marked at the recorded mid
    assert "USD" in page and 'class="spark"' in page
    frag = client.get("/fragment/overview")
    assert frag.status_code == 200 and "<html" not in frag.text and 'data-variant="MR_v2"' in frag.text


def test_hostile_text_is_shown_escaped_never_as_markup(client) -> None:
    for path in ("/", "/variant/MR_v1", "/findings"):
        page = client.get(path).text
        assert "<script>window.pwned" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page, path


def test_the_variant_page_has_its_charts_transitions_yaml_and_the_diff_from_its_previous_version(client) -> None:
    res = client.get("/variant/MR_v2")
    assert res.status_code == 200
    page = res.text
    assert "MR_v1 → MR_v2" in page
    assert '<span class="del">-version: 1</span>' in page and '<span class="add">+version: 2</span>' in page
    assert page.count("<svg") >= 2 and 'id="price-chart"' in page
    assert "warming" in page and "active" in page  # its transitions
    assert "no earlier version of MR" in client.get("/variant/MR_v1").text
    assert client.get("/variant/NOPE_v1").status_code == 404


def test_findings_show_the_runbook_section_rendered_from_markdown(client) -> None:
    page = client.get("/findings").text
    assert "retired_flat" in page and 'id="rb-invisible-exposure"' in page
    section = page.split('id="rb-invisible-exposure"', 1)[1]
    assert "<p>" in section and ("<ol>" in section or "<ul>" in section or "<code>" in section)


def test_dust_and_backtest_pages_answer(client) -> None:
    assert client.get("/dust").status_code == 200
    assert "no backtest run" in client.get("/runs").text
    assert client.get("/runs/bt-nosuch").status_code == 404


def test_the_dashboard_never_writes(client, desk) -> None:
    desk.rt.stop()  # the runtime stops writing: any change from here on would be the dashboard's
    before = _dump(desk.home)
    for path in ("/", "/fragment/overview", "/variant/MR_v1", "/variant/MR_v2", "/findings", "/dust", "/runs"):
        assert client.get(path).status_code == 200
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/").status_code == 405
    assert _dump(desk.home) == before
    led = open_readonly(default_url(desk.home))
    with pytest.raises(Exception, match="readonly|read-only|attempt to write"):
        control.resume(led, "MR_v1")
    led.close()


def test_a_token_is_checked_on_every_request(desk) -> None:
    led = open_readonly(default_url(desk.home))
    token = "t0ken-for-the-desk-1234"
    with TestClient(create_app(desk.home, led, token)) as c:
        assert c.get("/").status_code == 401
        assert c.get("/fragment/overview").status_code == 401
        assert c.get("/static/live.js").status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer wrong-token-000000"}).status_code == 401
        assert c.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        res = c.get(f"/variant/MR_v1?token={token}", follow_redirects=False)
        assert res.status_code == 303 and "token" not in res.headers["location"]
        assert c.get("/fragment/overview").status_code == 200  # the cookie carries it from here
    led.close()
