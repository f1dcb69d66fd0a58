"""Alpaca (paper by default): US equities and crypto through the official alpaca-py SDK."""
