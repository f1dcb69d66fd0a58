"""Hyperliquid perps, spot and HIP-3 builder dexes through the official SDK (testnet by default).

Instruments are named like the venue names its coins: ``BTC`` (perp), ``xyz:TSLA`` (HIP-3
perp on the ``xyz`` dex) and ``PURR/USDC`` (spot). The SDK is imported only by
:mod:`venues.hyperliquid.client`, on ``connect()``, so building an adapter stays cheap.
"""
