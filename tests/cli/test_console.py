"""The console of `runner run` on the embedded default: at most 80 columns, quote orders and fills
summed per interval, funding printed as a cash flow; `--verbose` prints each quote order (and fill)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from runner.engine.console import num
from tests.kit.process import start_runner, stop_runner, wait_for


def _run(home: Path, *extra: str, until: Callable[[list[str]], bool]) -> list[str]:
    """`runner run` on the embedded default until its console shows ``until`` (not for a fixed
    time: a loaded machine can spend that starting), then a clean stop (SIGTERM)."""
    out = home / "console.out"
    proc = start_runner(home, *extra, log_name=out.name)
    try:
        wait_for(lambda: proc.poll() is not None or until(out.read_text(errors="replace").splitlines()),
                 timeout=180, every=0.2)
    finally:
        stop_runner(proc)
    assert proc.returncode == 0, out.read_text()[-3000:]
    return out.read_text().splitlines()


def _default_console_done(lines: list[str]) -> bool:
    """A quote digest, a funding settlement (the sim settles after about 11 s) and a taker fill."""
    return (any("MMTV_v3 quotes: " in line for line in lines) and any(" funding BTC-PERP " in line for line in lines)
            and any(" Kalshi-sum_v1 fill " in line for line in lines))


def test_default_console_fits_80_columns_and_digests_quotes(tmp_path: Path) -> None:
    lines = _run(tmp_path, until=_default_console_done)
    assert max(len(line) for line in lines) <= 80
    assert any("MMTV_v3 quotes: " in line and " sent, " in line for line in lines)
    assert not any(" MMTV_v3 fill " in line or " MMTV_v3 order " in line for line in lines)
    funding = [line for line in lines if " funding BTC-PERP " in line]
    assert funding and all(line.endswith("(cash flow)") for line in funding)
    assert not any(" fill buy 0 " in line or " fill sell 0 " in line for line in lines)  # funding is no fill
    assert any(" Kalshi-sum_v1 fill " in line for line in lines)  # taker fills still print one by one


def test_verbose_console_prints_each_quote_order(tmp_path: Path) -> None:
    lines = _run(tmp_path, "--verbose", until=lambda ls: any(" MMTV_v3 order " in x and "(quote)" in x for x in ls))
    assert any(" MMTV_v3 order " in line and "(quote)" in line for line in lines)


def test_numbers_print_plainly() -> None:
    assert [num(Decimal(x)) for x in ("4.24000000", "100", "0.0667", "1E+2", "-0.50")] == \
        ["4.24", "100", "0.0667", "100", "-0.5"]


def test_log_file_json_lines_while_the_console_is_quiet(tmp_path: Path) -> None:
    import json

    log = tmp_path / "state" / "logs" / "runner.log"
    lines = _run(tmp_path, "--quiet", "--log-format", "json",
                 until=lambda _ls: log.exists() and "pending -> warming" in log.read_text(errors="replace"))
    assert lines == []
    docs = [json.loads(x) for x in log.read_text().splitlines()]
    console = [d for d in docs if d["logger"] == "runner.console"]
    assert any("pending -> warming" in d["message"] for d in console)
    assert all(d["ts"].endswith("Z") and d["level"] in ("info", "warning", "error") for d in docs)
    assert not any("[bold]" in d["message"] for d in console)  # markup is styling, not text


def test_bad_log_options_are_exit_2(tmp_path: Path) -> None:
    for extra in (["--log-level", "loud"], ["--log-format", "xml"]):
        res = subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp_path), "run", "--duration", "1",
                              *extra], capture_output=True, text=True, timeout=60)
        assert res.returncode == 2 and "--log-" in res.stderr and "Traceback" not in res.stderr


def test_log_file_rotates(tmp_path: Path) -> None:
    import logging

    from runner.logs import setup_file_logging

    before = logging.getLogger().level
    path = setup_file_logging(tmp_path, "info", "text", max_bytes=2000, backups=2)
    log = logging.getLogger("runner.console")
    try:
        for i in range(200):
            log.info("line %d %s", i, "x" * 40)
    finally:
        for h in list(logging.getLogger().handlers):
            if h.get_name() == "runner-file":
                logging.getLogger().removeHandler(h)
                h.close()
        logging.getLogger().setLevel(before)
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["runner.log", "runner.log.1", "runner.log.2"]
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    assert "line 199" in path.read_text()
