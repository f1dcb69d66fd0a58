"""The engine: one lifecycle, one order path, shared by backtest, paper and live."""
