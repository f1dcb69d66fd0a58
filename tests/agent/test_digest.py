"""`runner digest`: the day's summary in one line of at most 160 characters plus details, and
the runner's scheduled send through the alert URLs (apprise, captured by a registered scheme)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from runner.audit.schedule import start_audit_scheduler
from runner.cli.views import status_view
from runner.readmodels.digest import LINE_MAX, _line, send_previous_day
from tests.agent.test_cli import run
from tests.kit.deployment import ALERTS_YAML, CAPTURED
from tests.kit.desk import Desk, variant_yaml

TODAY = datetime.now(UTC).date().isoformat()


def traded_desk(home: Path) -> Desk:
    desk = Desk(home, {"MR_v13": variant_yaml("MR_v13"), "MR_v14": variant_yaml("MR_v14")})
    (home / "runner.yaml").write_text(ALERTS_YAML + "digest:\n  cron: '5 0 * * *'\n")
    desk.now = time.time()
    desk.start()
    desk.place("MR_v13", "buy", 0.01)
    desk.step()
    desk.place("MR_v13", "sell", 0.01, purpose="exit")
    desk.sim.faults.append("reject")
    desk.place("MR_v14", "buy", 0.01)
    desk.step(2)
    return desk


def test_the_digest_line_sums_the_day_per_venue_and_names_the_anomalies(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    traded_desk(tmp_path).close()
    code, out, _ = run(["digest", "--json", "--home", str(tmp_path)], capsys)
    doc = json.loads(out)
    from runner.ledger.store import Ledger, default_url

    led = Ledger(default_url(tmp_path), create=False)
    today = sum(v["pnl_today"] for v in status_view(led)["variants"])
    led.close()
    assert code == 0 and doc["day"] == TODAY
    assert doc["line"] == (f"Trade audit {TODAY}: sim {today:+.2f} (2 fills). Findings: none. Guards: none. "
                           "Anomalies: 1.")
    assert len(doc["line"]) <= LINE_MAX
    assert doc["anomalies"] == ["MR_v14 quarantined (rejected)"]
    assert doc["tracks"][0]["variants"] == [{"variant": "MR_v13", "pnl": pytest.approx(today), "fills": 2}]
    code, text, _ = run(["digest", "--home", str(tmp_path)], capsys)
    assert text.splitlines()[0] == doc["line"] and "anomaly: MR_v14 quarantined (rejected)" in text


def test_a_day_without_trades_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traded_desk(tmp_path).close()
    _, out, _ = run(["digest", "--day", "2020-01-02", "--json", "--home", str(tmp_path)], capsys)
    assert json.loads(out)["line"] == ("Trade audit 2020-01-02: no trades. Findings: none. Guards: none. "
                                       "Anomalies: none.")
    code, _, err = run(["digest", "--day", "02/01/2020", "--home", str(tmp_path)], capsys)
    assert code == 2 and "--day: expected YYYY-MM-DD" in err


def test_the_line_never_exceeds_160_characters() -> None:
    tracks = {f"account-{i}": {"pnl": i * 1000.5, "fills": 10 * i} for i in range(12)}
    line = _line(date(2026, 5, 14), tracks, [], [], [])
    assert len(line) == LINE_MAX and line.endswith("…") and line.startswith("Trade audit 2026-05-14: account-0")


def test_send_delivers_through_the_alert_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traded_desk(tmp_path).close()
    CAPTURED.clear()
    code, out, _ = run(["digest", "--send", "--json", "--home", str(tmp_path)], capsys)
    assert code == 0 and json.loads(out)["sent"] is True
    title, body = CAPTURED[-1]
    assert title.startswith(f"Trade audit {TODAY}: sim ") and "MR_v13" in body


def test_the_runner_schedules_the_digest_of_the_previous_day(tmp_path: Path) -> None:
    desk = traded_desk(tmp_path)
    from runner.spec.deployment_config import load_runner_config

    desk.rt.config = load_runner_config(tmp_path)
    stop = start_audit_scheduler(desk.rt)
    try:
        schedule = desk.rt.audit_schedule
        trig = repr(schedule.triggers["digest"])
        assert "hour='0'" in trig and "minute='5'" in trig
        desk.now += 86400  # the runner's clock is past tomorrow's 00:05: today is "the previous day"
        schedule.next = {"digest": schedule.next["digest"]}  # only the digest is due
        CAPTURED.clear()
        assert schedule.tick() == ["digest"]
    finally:
        stop()
    assert CAPTURED[-1][0].startswith(f"Trade audit {TODAY}: sim ")
    CAPTURED.clear()
    assert send_previous_day(desk.ledger, ["capture://desk"], datetime.now(UTC) + timedelta(days=1))
    assert CAPTURED[-1][0].startswith(f"Trade audit {TODAY}: sim ")
    desk.close()
