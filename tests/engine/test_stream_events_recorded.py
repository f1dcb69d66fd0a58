"""Issue 12, items 2 and 3: what a venue stream does reaches the ledger, the freshness audit
and ``runner status``.

The real runtime, ledger, audit and Kalshi adapter: its REST is the ``respx`` fake of
``test_kalshi_fake``, its WebSocket a local ``websockets`` server speaking Kalshi's documented
messages (an ack, a snapshot with ``seq`` 1, numbered deltas). A skipped ``seq`` is a gap the
stream repairs from a REST snapshot: information. A stream that stays down past the limit is
a warning, pending on its first reading and confirmed on the second, and it quarantines
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from runner.audit.findings import Severity
from runner.audit.freshness import freshness
from runner.audit.inputs import Settings, read_ledger
from runner.audit.run import run_checks
from runner.cli.stream_view import account_line, accounts_view
from runner.ledger.streams import stream_events, stream_status
from runner.readmodels.db import ReadDB
from tests.engine.test_kalshi_end_to_end import sum_yaml
from tests.kit.home import make_home
from tests.kit.wsserver import WsServer, eventually
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import TICKER, key_file, rsa_key  # noqa: F401 - fixtures
from tests.venues.test_kalshi_stream import KalshiVenue
from venues.kalshi.config import DEMO_URL

ACCOUNT = "kalshi-demo"


@pytest.fixture
def k(key_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[fake.FakeKalshi]:  # noqa: F811
    monkeypatch.setenv("TEST_KALSHI_KEY_ID", fake.KEY_ID)
    monkeypatch.setenv("TEST_KALSHI_KEY_PATH", str(key_file))
    with respx.mock(assert_all_called=False) as router:
        yield fake.FakeKalshi(router)


def venues_yaml(ws: str) -> str:
    return (f"{ACCOUNT}:\n  adapter: kalshi\n  url: {DEMO_URL}\n  ws_url: {ws}\n  tier: premier\n"
            f"  tickers: [{TICKER}]\n  backoff_s: 0.01\n"
            "  credentials: {key_id: TEST_KALSHI_KEY_ID, private_key_path: TEST_KALSHI_KEY_PATH}\n")


def test_gaps_resyncs_and_a_stream_down_reach_the_ledger_the_audit_and_status(
        tmp_path: Path, k: fake.FakeKalshi) -> None:
    script = KalshiVenue()
    k.set_book(yes=[(39, 10), (40, 12)], no=[(55, 20), (58, 17)])  # no arbitrage: nothing trades
    with WsServer(script, path="/trade-api/ws/v2") as venue:
        home = make_home(tmp_path / "desk", venues_yaml(venue.url),
                         variants={"Kalshi-sum_v9": sum_yaml("market", [TICKER])})
        ledger = home.ledger()
        rt = home.runtime(ledger)
        try:
            rt.start()

            def stepped(predicate):  # type: ignore[no-untyped-def]
                def go():  # type: ignore[no-untyped-def]
                    rt.step()
                    return predicate()
                return go

            eventually(stepped(lambda: TICKER in script.sid_of), what="the book subscription")
            venue.send(script.delta(TICKER, 2, "0.4300", "7.00"))
            venue.send(script.delta(TICKER, 5, "0.4400", "1.00"))  # 3 and 4 lost
            eventually(stepped(lambda: {"gap", "resync"} <= {e.kind for e in stream_events(ledger)}),
                       what="the gap and its resync in the ledger")
            kinds = [e.kind for e in stream_events(ledger, account=ACCOUNT)]
            assert kinds[0] == "connected" and "subscribed" in kinds

            [repairs] = [f for f in freshness(read_ledger(ledger), {}) if f.evidence["subject"].startswith("stream")]
            assert repairs.severity is Severity.INFO and repairs.evidence["gaps"] >= 1
            assert repairs.evidence["resyncs"] >= 1

            eventually(stepped(lambda: stream_status(ledger)[ACCOUNT].state == "connected"), what="status")
            venue.hang_up = True  # the venue closes every new connection: the stream stays down
            venue.drop()
            eventually(stepped(lambda: stream_status(ledger)[ACCOUNT].state == "reconnecting"),
                       what="the stream down in the status")
            [acc] = [a for a in accounts_view(ReadDB.of(ledger)) if a["account"] == ACCOUNT]
            assert acc["budget"]["read"]["limit_per_min"] == 6000  # premier: 100 reads a second
            assert acc["budget"]["read"]["requests_last_min"] > 0
            assert account_line(acc).startswith(f"{ACCOUNT}: stream reconnecting")

            quick = Settings(stream_down_s=0.0)
            first = [f for f in run_checks(ledger, rt.venues, home.path, ["freshness"], actor="schedule",
                                           settings=quick, previous={}) if f.evidence["subject"] == f"stream:{ACCOUNT}"]
            assert [f.severity for f in first] == [Severity.PENDING]  # one reading may catch a reconnect
            second = [f for f in run_checks(ledger, rt.venues, home.path, ["freshness"], actor="schedule",
                                            settings=quick, previous={f.key: f for f in first})
                      if f.evidence["subject"] == f"stream:{ACCOUNT}"]
            assert [f.severity for f in second] == [Severity.WARNING]
            rt.step()
            assert ledger.state("Kalshi-sum_v9").state == "active"  # type: ignore[union-attr]  # nothing quarantined
        finally:
            rt.stop()
            ledger.close()
