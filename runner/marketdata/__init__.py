"""Recorded market data readers (backtest input) and their common event shape."""
