"""Deterministic client order ids: the same (run, variant, sequence) always gives the same id.

32 lowercase hex characters: accepted as is by OKX (clOrdId), Alpaca and Kalshi, and as a
Hyperliquid cloid once "0x" is prefixed by that adapter.
"""

from __future__ import annotations

import hashlib


def client_order_id(run_id: str, variant: str, seq: int) -> str:
    return hashlib.sha256(f"{run_id}|{variant}|{seq}".encode()).hexdigest()[:32]
