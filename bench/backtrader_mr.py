"""The MR rule in backtrader, with every fill inserted into SQLite: the reference point.

Same rule as the `mean_reversion` kind: rolling z-score of close over `window` bars (sample
std, current bar included), entry beyond entry_z (both sides), exit inside exit_z, stop-loss
and time-stop; size = order_notional / close. Run by backtest_bench.py in a subprocess.
"""

from __future__ import annotations

import json
import math
import resource
import sqlite3
import sys
import time

import backtrader as bt


class MR(bt.Strategy):
    params = dict(window=60, entry_z=1.25, exit_z=0.5, stop=0.01, max_hold_bars=10, notional=2000.0, db=None)

    def __init__(self) -> None:
        self.sma = bt.indicators.SMA(self.data.close, period=self.p.window)
        self.sd = bt.indicators.StdDev(self.data.close, period=self.p.window)
        self.entry_bar = 0
        self.fills = 0
        self.conn = sqlite3.connect(self.p.db)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS fills (id INTEGER PRIMARY KEY, side TEXT, qty REAL, price REAL, ts REAL)")

    def notify_order(self, order) -> None:  # type: ignore[no-untyped-def]
        if order.status == order.Completed:
            self.conn.execute("INSERT INTO fills (side, qty, price, ts) VALUES (?, ?, ?, ?)",
                              ("buy" if order.isbuy() else "sell", order.executed.size, order.executed.price,
                               self.data.datetime[0]))
            self.conn.commit()
            self.fills += 1

    def next(self) -> None:
        n = self.p.window
        sd = self.sd[0] * math.sqrt(n / (n - 1))  # backtrader's StdDev is the population one
        if sd <= 0:
            return
        close = self.data.close[0]
        z = (close - self.sma[0]) / sd
        pos = self.position.size
        if pos:
            held = len(self) - self.entry_bar
            move = (close - self.position.price) / self.position.price
            if (pos > 0 and (move <= -self.p.stop or z >= -self.p.exit_z)) or \
               (pos < 0 and (move >= self.p.stop or z <= self.p.exit_z)) or held >= self.p.max_hold_bars:
                self.close()
            return
        size = self.p.notional / close
        if z < -self.p.entry_z:
            self.buy(size=size)
            self.entry_bar = len(self)
        elif z > self.p.entry_z:
            self.sell(size=size)
            self.entry_bar = len(self)


def main(csv_path: str, db: str) -> None:
    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.GenericCSVData(dataname=csv_path, dtformat=lambda x: __import__("datetime").datetime.utcfromtimestamp(int(x)),
                                   datetime=0, open=1, high=2, low=3, close=4, volume=5, openinterest=-1,
                                   timeframe=bt.TimeFrame.Minutes)
    cerebro.adddata(data)
    cerebro.addstrategy(MR, db=db)
    cerebro.broker.setcash(100_000.0)
    t0 = time.perf_counter()
    (strat,) = cerebro.run()
    dt = time.perf_counter() - t0
    bars = len(strat)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"bars": bars, "seconds": dt, "fills": strat.fills, "peak_rss": ru.ru_maxrss * 1024,
                      "cpu_s": ru.ru_utime + ru.ru_stime}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
