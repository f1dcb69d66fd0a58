"""`runner backtest` of MR_v13: the fills it books are the rule's, and the ledger agrees with itself.

The reference below is the mean-reversion rule written out plainly over the closes (statistics
module, no engine, no sim), so a fast path that drops, doubles or reorders a fill shows up as
a different trade list. The ledger side is checked with a tiny batch window, so the run is
written in many flushes.
"""

from __future__ import annotations

import json
import statistics
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ou_bars import write_bars
from runner.engine import backtest as bt
from runner.engine.batch_writer import InlineWriter, ProcessWriter
from runner.engine.sink import BatchSink
from runner.ledger.positions import derive
from runner.ledger.store import Ledger
from runner.spec.load import load_variant
from tests.kit.process import cli as runner

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "strategies.d" / "MR_v13.yaml"


def reference_trades(closes: list[float], ts: list[float]) -> list[tuple[float, str]]:
    """(fill time, side) of every order the MR_v13 rule places on bars, in order.

    The order decided on bar i (known at its close, ``ts[i] + 60``) fills at bar i+1's open, at
    that moment; these bars open at the previous close, so the price is the signal bar's close.
    An order decided on the last bar has no next bar to fill on.
    """
    p = load_variant(SAMPLE).params
    w = p.window
    out: list[tuple[float, str]] = []
    pos, entry_px, entry_ts = 0, 0.0, 0.0
    for i, close in enumerate(closes):
        z = None
        if i + 1 >= w:
            win = closes[i + 1 - w: i + 1]
            sd = statistics.stdev(win)
            if sd > 0:
                z = (close - statistics.fmean(win)) / sd
        if pos:
            move = (close - entry_px) / entry_px
            stop = move <= -p.stop_loss_pct if pos > 0 else move >= p.stop_loss_pct
            exit_ = z is not None and (z >= -p.exit_z if pos > 0 else z <= p.exit_z)
            if stop or ts[i] - entry_ts >= p.max_hold or exit_:
                out.append((ts[i] + 60, "sell" if pos > 0 else "buy"))
                pos = 0
        elif z is not None and abs(z) > p.entry_z:
            pos = 1 if z < 0 else -1
            entry_px, entry_ts = close, ts[i]
            out.append((ts[i] + 60, "buy" if pos > 0 else "sell"))
    return [o for o in out if o[0] <= ts[-1]]


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bars(tmp_path_factory.mktemp("bars") / "ou.csv", 4000, seed=7)


@pytest.mark.parametrize("inline", [False, True], ids=["writer-process", "inline"])
def test_the_backtest_books_exactly_the_rules_trades_and_the_ledger_agrees(
    bars: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    rows = [line.split(",") for line in bars.read_text().splitlines()[1:]]
    closes, ts = [float(r[4]) for r in rows], [float(r[0]) for r in rows]
    want = reference_trades(closes, ts)
    assert len(want) > 100  # the data makes the rule trade a lot

    sinks: list[BatchSink] = []

    def small_window(ledger: Ledger) -> BatchSink:
        writer = InlineWriter(ledger) if inline else ProcessWriter(ledger.url)
        sinks.append(BatchSink(ledger, max_fills=7, writer=writer))
        return sinks[-1]

    monkeypatch.setattr(bt, "BatchSink", small_window)
    loaded = load_variant(SAMPLE)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        res = bt.run_backtest(loaded, [("BTC-USD", bars)], ledger)
        assert sinks[0].flushes > 20  # written in many batches
        fills = ledger.fills(res.run_id, limit=None)
        orders = ledger.orders(res.run_id, limit=100_000)
        positions = ledger.positions(res.run_id)
    finally:
        ledger.close()

    got = [(f.ts.timestamp(), f.side) for f in fills]
    assert got == want
    assert res.fills == len(fills) == len(orders)
    assert {f.client_order_id for f in fills} == {o.client_order_id for o in orders}
    opens = [float(r[1]) for r in rows]
    for f in fills:  # taker at the open of the bar after the signal, never at the signal's close
        assert f.price == Decimal(repr(opens[ts.index(f.ts.timestamp())]))
    (pos,) = positions
    derived = derive((1 if f.side == "buy" else -1, f.qty, f.price, f.fee, f.ts) for f in fills)
    assert (pos.qty, pos.avg_price, pos.realized_pnl, pos.fees) == (
        derived.qty, derived.avg_price, derived.realized_pnl, derived.fees)
    assert res.metrics["trades"] == sum(1 for _t, side in want) // 2
    assert res.metrics["fees"] == pytest.approx(float(derived.fees))


def test_runner_backtest_json_reports_the_run_it_stored(bars: Path, tmp_path: Path) -> None:
    out = runner(tmp_path, "backtest", str(SAMPLE), "--data", str(bars), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["bars"] == 4000 and report["fills"] > 100
    assert set(report["metrics"]) >= {"total_return", "sharpe", "max_drawdown", "trades", "win_rate", "fees",
                                      "exposure"}
    again = runner(tmp_path, "fills", "--run", report["run_id"], "--json", "--limit", "0")
    assert again.returncode == 0, again.stderr
    assert len(json.loads(again.stdout)["fills"]) == report["fills"]
    pos = runner(tmp_path, "positions", "--run", report["run_id"], "--json")
    assert [p["instrument"] for p in json.loads(pos.stdout)["positions"]] == ["BTC-USD"]
    main = runner(tmp_path, "fills", "--json")
    assert json.loads(main.stdout)["fills"] == []  # a backtest never touches the paper/live book
