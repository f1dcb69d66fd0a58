"""The console of `runner run` on the embedded default: at most 80 columns, quote orders and fills
summed per interval, funding printed as a cash flow; `--verbose` prints each quote order (and fill)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from runner.engine.console import num


def _run(home: Path, *extra: str, duration: str) -> list[str]:
    res = subprocess.run([sys.executable, "-m", "runner", "--home", str(home), "run", "--duration", duration, *extra],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


def test_default_console_fits_80_columns_and_digests_quotes(tmp_path: Path) -> None:
    lines = _run(tmp_path, duration="20")
    assert max(len(line) for line in lines) <= 80
    assert any("MMTV_v3 quotes: " in line and " sent, " in line for line in lines)
    assert not any(" MMTV_v3 fill " in line or " MMTV_v3 order " in line for line in lines)
    funding = [line for line in lines if " funding BTC-PERP " in line]
    assert funding and all(line.endswith("(cash flow)") for line in funding)
    assert not any(" fill buy 0 " in line or " fill sell 0 " in line for line in lines)  # funding is no fill
    assert any(" Kalshi-sum_v1 fill " in line for line in lines)  # taker fills still print one by one


def test_verbose_console_prints_each_quote_order(tmp_path: Path) -> None:
    lines = _run(tmp_path, "--verbose", duration="8")
    assert any(" MMTV_v3 order " in line and "(quote)" in line for line in lines)


def test_numbers_print_plainly() -> None:
    assert [num(Decimal(x)) for x in ("4.24000000", "100", "0.0667", "1E+2", "-0.50")] == \
        ["4.24", "100", "0.0667", "100", "-0.5"]
