"""Per-instrument bar sources in `runner status` (text and --json), the dashboard's overview and
the agent's `list_variants`: one read model over what the runner records (its stream status
rows), never the venue. A desk on the sim builds its bars from books; a second account's row,
as a runner on Hyperliquid writes it, has one instrument's bars late while its candle stream is
down and another's on time from the candle stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agent import tools
from agent.context import AgentContext
from runner.ledger.paths import default_url
from runner.ledger.streams import record_status
from runner.ledger.types import utcnow
from runner.readmodels.readonly import open_readonly
from runner.web.app import create_app
from tests.kit.desk import Desk
from tests.kit.process import cli, cli_json

END = 1_700_000_160.0  # 2023-11-14 22:16:00 UTC: the latest bar's close on the second account


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk.create(tmp_path, {"MR_v1": ("BTC-USD",)})
    d.step(70)  # the sim's books: more than a minute, so a bar closed
    d.rt.periodic.publish_streams()  # the row the runner writes every second
    record_status(d.ledger, "other-runner", "hl", "reconnecting", utcnow(), {"bars": [
        # two bars owed: the venue clock is 200 s past the last close
        {"instrument": "ETH", "timeframe_s": 60, "source": "books", "candles": "down", "last_end": END,
         "seen": END + 200},
        {"instrument": "BTC", "timeframe_s": 60, "source": "candles", "candles": "live", "last_end": END,
         "seen": END + 30}]})
    yield d
    d.close()


def by_account(accounts: list[dict]) -> dict[str, dict[str, dict]]:  # type: ignore[type-arg]
    return {a["account"]: {b["instrument"]: b for b in a["bars"]} for a in accounts}


def check(accounts: list[dict]) -> None:  # type: ignore[type-arg]
    bars = by_account(accounts)
    sim = bars["sim"]["BTC-USD"]
    assert (sim["timeframe_s"], sim["source"], sim["candles"], sim["late"]) == (60, "books", None, False)
    assert sim["last_bar_close"] is not None
    eth, btc = bars["hl"]["ETH"], bars["hl"]["BTC"]
    assert (eth["source"], eth["candles"], eth["last_bar_close"]) == ("books", "down", "2023-11-14T22:16:00Z")
    assert eth["late"] and eth["late_s"] >= 140  # 200 - 60, plus the time since the row was written
    assert (btc["source"], btc["candles"], btc["late"], btc["late_s"]) == ("candles", "live", False, None)


def test_runner_status_shows_each_instruments_bar_source_last_bar_and_lateness(desk: Desk) -> None:
    check(cli_json(desk.home, "status")["accounts"])
    text = cli(desk.home, "status").stdout
    lines = [ln for ln in text.splitlines() if " bars: " in ln]
    assert re.search(r"^  ETH 1m bars: books, candle stream down; last 2023-11-14 22:16:00Z LATE 1[4-9]\ds$",
                     text, re.M), text
    assert "  BTC 1m bars: candle stream; last 2023-11-14 22:16:00Z" in lines
    assert any(ln.startswith("  BTC-USD 1m bars: books; last ") and "LATE" not in ln for ln in lines), lines
    assert all(len(ln) <= 80 for ln in lines)


def test_the_dashboard_overview_shows_the_bar_sources(desk: Desk) -> None:
    led = open_readonly(default_url(desk.home))
    try:
        with TestClient(create_app(desk.home, led)) as client:
            page = client.get("/").text
            fragment = client.get("/fragment/overview").text
    finally:
        led.close()
    for html in (page, fragment):
        assert 'data-bars="hl/ETH/60" data-source="books" data-late="true"' in html
        assert 'data-bars="hl/BTC/60" data-source="candles" data-late="false"' in html
        assert 'data-bars="sim/BTC-USD/60" data-source="books" data-late="false"' in html
        assert "candle stream down" in html


def test_the_agents_list_variants_has_the_bar_sources(desk: Desk) -> None:
    ctx = AgentContext.open(desk.home)
    try:
        out = tools.call(ctx, "list_variants")
    finally:
        ctx.close()
    assert "error" not in out
    check(out["accounts"])


def test_a_retired_variants_bars_leave_the_status(desk: Desk) -> None:
    from runner.cli.views import status_view

    desk.retire("MR_v1", steps=3)
    assert desk.state("MR_v1") == "retired"
    desk.rt.periodic.publish_streams()
    accounts = {a["account"]: a for a in status_view(desk.ledger)["accounts"]}
    assert accounts["sim"]["bars"] == []  # no longer read: not shown late for ever
