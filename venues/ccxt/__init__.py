"""Any ccxt exchange as a venue (default OKX, sandbox on): the SDK does the signing and HTTP."""
