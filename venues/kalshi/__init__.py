"""Kalshi trade-api v2 over ``httpx``, signed per request with RSA-PSS (demo by default).

Instruments are one per (market ticker, side): ``KXFED-25DEC-T4.00:yes`` and
``KXFED-25DEC-T4.00:no``. Buying ``:no`` is buying NO contracts; a position in ``:yes`` is
YES contracts held. Tick 1 cent, lot 1 contract. Prices (and fees) of these instruments are
in US cents per contract (a contract pays 100); balances are in US dollars.
"""
