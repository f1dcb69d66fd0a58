"""Deterministic client order ids: the same (run, variant, sequence) always gives the same id.

Paper and live: 32 lowercase hex characters, accepted as is by OKX (clOrdId), Alpaca and
Kalshi, and as a Hyperliquid cloid once "0x" is prefixed by that adapter. They are salted with
the ledger's salt (``runner.ledger.identity``): two deployments of one variant on one account
never share an id, while one deployment derives the same ids across restarts. Backtest runs
(``bt-...``) never reach a venue: their ids are ``<run>-<seq>``, zero-padded, so a long
replay appends to the ledger's indexes instead of scattering random keys through them.
"""

from __future__ import annotations

import hashlib

BACKTEST_PREFIX = "bt-"


def client_order_id(run_id: str, variant: str, seq: int, salt: str = "") -> str:
    if run_id.startswith(BACKTEST_PREFIX):
        return f"{run_id}-{seq:010d}"
    key = f"{salt}|{run_id}|{variant}|{seq}" if salt else f"{run_id}|{variant}|{seq}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]
