"""A trading deployment directory (``make_home``) for ``tests.kit.desk.Desk.create``, and alerts capture.

Its variants warm from the sim's history and trade when a test tells them to
(``Desk.trade``); ``make_dust`` leaves one holding a fragment. The desk itself is
``tests.kit.desk.Desk`` (one class, one owner).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.kit.home import make_home as kit_home
from tests.kit.home import variant_text

if TYPE_CHECKING:
    from tests.kit.desk import Desk


def variant_yaml(vid: str, instruments: tuple[str, ...] = ("BTC-USD",), venue: str = "sim") -> str:
    return variant_text(vid, {"window": 2, "entry_z": 1.25, "exit_z": 0.5, "long_only": False, "order_notional": 1000},
                        {"max_order_notional": 100000, "max_position_notional": 1000000, "max_daily_loss": 100000},
                        venue=venue, instruments=instruments, data="{bars: 1m}")  # warm from the sim's history


def make_home(root: Path, variants: dict[str, tuple[str, ...]], runner_yaml: str = "") -> Path:
    """A deployment directory with one file per variant (id -> instruments)."""
    home = kit_home(root / "desk", runner_yaml=runner_yaml or None,
                    variants={vid: variant_yaml(vid, insts) for vid, insts in variants.items()}).path
    (home / "runbook").mkdir()
    (home / "state").mkdir()
    return home


# --- alerts: a real apprise plugin that keeps what it was sent ------------------------------
CAPTURED: list[tuple[str, str]] = []
CAPTURED_TYPES: list[str] = []  # apprise notify type of each captured alert


def _register_capture() -> None:
    import apprise.decorators

    @apprise.decorators.notify(on="capture")
    def _capture(body: str, title: str = "", notify_type: str = "", *args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        CAPTURED.append((title, body))
        CAPTURED_TYPES.append(str(notify_type))
        return True


_register_capture()

ALERTS_YAML = "alerts:\n  urls: ['capture://desk']\n  min_interval_s: 300\n"


def make_dust(desk: Desk, variant: str, instrument: str = "BTC-USD") -> None:
    """Leave ``variant`` holding a dust fragment (BTC 0.0003 ~ $9; ETH 0.004 ~ $8)."""
    if instrument == "BTC-USD":
        desk.trade(variant, "buy", "0.0010", instrument)
        desk.trade(variant, "sell", "0.0007", instrument, purpose="exit")
    else:
        desk.trade(variant, "buy", "0.010", instrument)
        desk.trade(variant, "sell", "0.006", instrument, purpose="exit")
