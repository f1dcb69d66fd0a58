"""Offline dust judges from the instrument rows a runner recorded, including whether the
venue waives its minimum for a reduce-only full close (Hyperliquid's $10): a $5 perp position
there closes with one order, so it is not dust, while the same $5 on a venue that enforces
its minimum is."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from runner.audit.dust import fragments
from runner.ledger import models as m
from runner.ledger.dust import dust_flags
from runner.ledger.instruments import record_instruments, recorded_instruments
from runner.ledger.store import Ledger, NewFill
from venues.base import Instrument
from venues.hyperliquid.precision import perp_instrument

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _ledger(tmp_path) -> Ledger:
    led = Ledger(f"sqlite:///{tmp_path}/l.db")
    hl = perp_instrument({"name": "ETH", "szDecimals": 4})  # as the adapter builds it from `meta`
    strict = Instrument("ETH-USD", D("0.01"), D("0.0001"), D("0.0001"), D(10), "spot")
    record_instruments(led, "hl", {"ETH": hl})
    record_instruments(led, "cx", {"ETH-USD": strict})
    led.apply_fills([
        NewFill("hl:1", "c1", m.MAIN_RUN, "MM_v1", "hl", "ETH", "buy", D("0.002"), D(2500), D(0), T0),
        NewFill("cx:1", "c2", m.MAIN_RUN, "MM_v1", "cx", "ETH-USD", "buy", D("0.002"), D(2500), D(0), T0),
    ])
    return led


def test_a_position_under_a_waived_minimum_is_not_dust_offline(tmp_path) -> None:
    led = _ledger(tmp_path)
    insts = recorded_instruments(led)
    assert insts[("hl", "ETH")].close_waives_minimum is True
    assert insts[("cx", "ETH-USD")].close_waives_minimum is False
    flags = dust_flags(led, led.positions(m.MAIN_RUN))
    assert flags == {("MM_v1", "ETH"): False, ("MM_v1", "ETH-USD"): True}  # both $5
    assert [(f.venue, f.instrument) for f in fragments(led)] == [("cx", "ETH-USD")]


def test_a_version_2_ledger_gains_the_column_and_its_old_rows_read_as_not_waived(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/l.db"
    _ledger(tmp_path).close()
    led = Ledger(url)
    with led.begin() as conn:  # as a runner before this column wrote it
        conn.execute(text("ALTER TABLE instruments DROP COLUMN close_waives_minimum"))
        conn.execute(text("UPDATE schema_version SET version = 2"))
    led.close()
    again = Ledger(url)
    assert again.engine.connect().execute(text("SELECT version FROM schema_version")).scalar() == m.SCHEMA_VERSION
    assert recorded_instruments(again)[("hl", "ETH")].close_waives_minimum is False  # until a runner records again
    record_instruments(again, "hl", {"ETH": perp_instrument({"name": "ETH", "szDecimals": 4})})
    assert recorded_instruments(again)[("hl", "ETH")].close_waives_minimum is True


def test_dust_and_the_venue_check_price_a_position_at_its_mark_not_its_last_fill(tmp_path) -> None:
    """0.002 ETH bought at 2500 is $5 (dust where $10 is the minimum); the market is at 6000
    now (recorded mark): $12, closable, so not dust, and a venue difference of it is valued at
    the mark."""
    from runner.audit.inputs import VenueData, read_ledger
    from runner.audit.venue_checks import ledger_vs_venue
    from runner.ledger.marks import record_marks

    led = _ledger(tmp_path)
    assert [(f.venue, f.instrument) for f in fragments(led)] == [("cx", "ETH-USD")]
    record_marks(led, [("cx", "ETH-USD", "USD", D(6000), T0)])
    assert dust_flags(led, led.positions(m.MAIN_RUN))[("MM_v1", "ETH-USD")] is False
    assert fragments(led) == []
    (finding,) = ledger_vs_venue(read_ledger(led), {"cx": VenueData("cx")})  # the venue holds nothing
    assert finding.evidence["value"] == D("0.002") * 6000
