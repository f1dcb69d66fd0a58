"""Issue 14 item 5: a variant that cannot run says why (status, its file's error row with a
time, the console once), instead of sitting silently in ``warming``; the others run on."""

from __future__ import annotations

from pathlib import Path

from runner.cli.views import status_view
from runner.engine.report import Reporter
from runner.lifecycle import State
from tests.engine.test_kalshi_end_to_end import k, venues_yaml  # noqa: F401 - fixture
from tests.kit.deployment import variant_yaml
from tests.kit.desk import Desk
from tests.kit.home import make_home, variant_text
from tests.venues import test_kalshi_fake as fake
from tests.venues.test_kalshi_fake import key_file, rsa_key  # noqa: F401 - pytest fixtures


class Lines(Reporter):
    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.lines: list[str] = []

    def error(self, message: str) -> None:
        self.lines.append(message)


def test_an_instrument_the_venue_does_not_list_is_an_error_on_the_variant_said_once(tmp_path) -> None:
    d = Desk.create(tmp_path)
    d.rt.reporter = lines = Lines()
    (d.home / "strategies.d" / "MR_v2.yaml").write_text(variant_yaml("MR_v2", ("NOPE-USD",)))
    d.rt.rescan = True
    d.step(200, dt=0.5)  # 100 s: the console must not repeat it every tick nor every minute
    said = [x for x in lines.lines if x.startswith("MR_v2")]
    assert len(said) == 1 and "cannot run" in said[0] and "NOPE-USD" in said[0]
    shown = {v["id"]: v for v in status_view(d.ledger)["variants"]}
    assert shown["MR_v2"]["state"] == "warming"
    assert "cannot run" in shown["MR_v2"]["last_error"] and "unknown instrument 'NOPE-USD'" in shown["MR_v2"]["last_error"]
    [err] = [e for e in d.ledger.spec_errors() if e.file.endswith("MR_v2.yaml")]
    assert err.message.startswith("MR_v2: cannot run") and err.ts is not None
    assert d.rt.engines["MR_v1"].state is State.ACTIVE and shown["MR_v1"]["last_error"] is None


def test_an_account_that_cannot_trade_the_kind_says_so_once_and_never_starts(
        tmp_path: Path, k: fake.FakeKalshi) -> None:  # noqa: F811
    mr = variant_text("MR_v7", {"window": 2, "entry_z": 1.25, "exit_z": 0.5, "long_only": False, "order_notional": 10},
                      {"max_order_notional": 100, "max_position_notional": 1000, "max_daily_loss": 100},
                      venue="kalshi-demo", instruments=(f"{fake.TICKER}:yes",))
    home = make_home(tmp_path / "desk", venues_yaml([fake.TICKER]), variants={"MR_v7": mr})
    ledger = home.ledger()
    rt = home.runtime(ledger)
    rt.reporter = lines = Lines()
    try:
        rt.start()
        for _ in range(5):
            rt.step()
        assert "MR_v7" not in rt.engines and ledger.state("MR_v7").state == "pending"  # type: ignore[union-attr]
        said = [x for x in lines.lines if x.startswith("MR_v7")]
        assert len(said) == 1 and "needs shorting (long_only: false sells short)" in said[0]
        shown = {v["id"]: v for v in status_view(ledger)["variants"]}
        assert "cannot start" in shown["MR_v7"]["last_error"] and "needs shorting" in shown["MR_v7"]["last_error"]
    finally:
        rt.stop()
        ledger.close()
