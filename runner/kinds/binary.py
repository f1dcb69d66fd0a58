"""Binary (YES/NO) markets as the kinds and the engine see them.

A market ``M`` is traded through two leg instruments, ``M:yes`` and ``M:no``, so positions are
tracked per leg. Prices are cents (1..99); a settled leg pays 100 or 0. Market events of
``M`` carry both books in ``extra`` (see ``runner.marketdata.readers.read_binary_books``).
"""

from __future__ import annotations

from collections.abc import Mapping

YES, NO = "yes", "no"  # the legs as Kalshi names them: TICKER:yes, TICKER:no
PAYOUT = 100.0


def leg(market: str, outcome: str) -> str:
    return f"{market}:{outcome}"


def legs(market: str) -> tuple[str, str]:
    return leg(market, YES), leg(market, NO)


def is_binary(extra: Mapping[str, float]) -> bool:
    return "yes_ask" in extra and "no_ask" in extra
