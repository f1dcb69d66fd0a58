"""Data a variant cannot use stops `runner backtest` with FILE:LINE and exit 2 (never exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.engine.backtest import bind_streams, run_backtest
from runner.errors import BadInputError
from runner.ledger.store import Ledger
from runner.spec.load import load_variant
from tests.kit.process import cli as runner

REPO = Path(__file__).resolve().parents[2]
MR = REPO / "strategies.d" / "MR_v13.yaml"
MM = REPO / "strategies.d" / "MMTV_v3.yaml"
KALSHI = REPO / "strategies.d" / "Kalshi-sum_v1.yaml"
BARS_HEAD = "timestamp,open,high,low,close,volume\n"


def _bars(*ts: int) -> str:
    return BARS_HEAD + "".join(f"{t},100,101,99,100,1\n" for t in ts)


def _book(ts: int, inst: str | None = None) -> str:
    row = {"ts": ts, "bids": [[99.0, 1.0]], "asks": [[101.0, 1.0]]}
    if inst:
        row["instrument"] = inst
    return json.dumps(row) + "\n"


def _binary(ts: int, market: str) -> str:
    return json.dumps({"ts": ts, "market": market, "yes_bids": [[40, 10]], "no_bids": [[55, 10]]}) + "\n"


T = 1_700_000_040
CASES = {
    "bars out of order": (MR, "bars.csv", _bars(T, T + 60, T + 120, T + 60),
                          ":5: bad bar row: rows out of time order"),
    "bars duplicated": (MR, "bars.csv", _bars(T, T + 60, T + 60), ":4: bad bar row: duplicated timestamp"),
    "bars finer than declared": (MR, "bars.csv", _bars(T, T + 5, T + 10), ":3: bad bar row: bars 5 s apart"),
    "bars coarser than declared": (MR, "bars.csv", _bars(T, T + 3600, T + 7200),
                                   ":3: no two bars are 60 s apart"),
    "books out of order": (MM, "b.jsonl", _book(T + 1) + _book(T + 2) + _book(T), ":3: bad book row: rows out of"),
    "books duplicated": (MM, "b.jsonl", _book(T + 1) + _book(T + 1), ":2: bad book row: duplicated timestamp"),
    "funding for a kind that cannot use it": (MR, "f.csv", "timestamp,rate\n1700000000,0.0001\n",
                                              ":1: funding data, a stream kind mean_reversion cannot use"),
    "bars for a books kind": (MM, "bars.csv", _bars(T, T + 60), ":1: bars data, a stream kind market_making cannot"),
    "books for a variant on bars": (MR, "b.jsonl", _book(T), ":1: books data, but MR_v13 consumes bars 1m"),
    "binary books for a plain kind": (MM, "k.jsonl", _binary(T, "KXSIM-A"), ":1: binary-market books: kind market_making cannot use them"),
    "books of none of its instruments": (MM, "b.jsonl", _book(T, "BTC-USD") + _book(T + 1, "BTC-USD"),
                                         ":1: none of the rows is for ETH-USD (the file has BTC-USD)"),
    "binary books of other markets": (KALSHI, "k.jsonl", _binary(T, "OTHER") + _binary(T + 1, "OTHER"),
                                      ":1: none of the rows is for KXSIM-A, KXSIM-B (the file has OTHER)"),
    "binary books out of order": (KALSHI, "k.jsonl", _binary(T + 1, "KXSIM-A") + _binary(T, "KXSIM-A"),
                                  ":2: bad binary book row: rows out of time order"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_refused_with_its_file_and_line(tmp_path: Path, case: str) -> None:
    sample, name, text, expected = CASES[case]
    path = tmp_path / name
    path.write_text(text)
    loaded = load_variant(sample)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with pytest.raises(BadInputError) as info:
            run_backtest(loaded, bind_streams(loaded, [str(path)]), ledger)
        assert f"{path}{expected}" in str(info.value)
    finally:
        ledger.close()


def test_the_cli_exits_2_naming_the_line_of_a_duplicated_bar(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(_bars(T, T + 60, T + 120, T + 120))
    res = runner(tmp_path, "backtest", str(MR), "--data", str(path))
    assert res.returncode == 2
    assert f"{path}:5: bad bar row: duplicated timestamp 2023-11-14T22:16:00Z" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev_zero_link", "directory"])
def test_a_data_path_that_is_not_a_regular_file_is_refused_not_read(tmp_path: Path, kind: str) -> None:
    """A FIFO would block the backtest forever and /dev/zero would never end: exit 2 at once
    (the subprocess's own timeout is the bound that fails this test if it hangs)."""
    import os

    path = tmp_path / "bars.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero_link":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    res = runner(tmp_path, "backtest", str(MR), "--data", str(path), timeout=60)
    assert res.returncode == 2, res.stderr
    assert f"{path}: " in res.stderr and "only regular files are read as data" in res.stderr
    assert "Traceback" not in res.stderr
