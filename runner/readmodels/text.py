"""Untrusted text made safe to print: control and format characters escaped, visibly.

Ledger and venue text (rejection reasons, order details, file names, notes) can hold line
breaks, terminal escapes or bidi marks that would fake output lines; every output that
shows such text passes it through here.
"""

from __future__ import annotations

import unicodedata
from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    return "".join(_NAMED.get(ch, f"\\u{ord(ch):04x}") if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
                   else ch for ch in text)


def escape_all(value: Any) -> Any:
    """Every string in a JSON-like value escaped (keys too)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {escape(str(k)): escape_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_all(v) for v in value]
    return value
