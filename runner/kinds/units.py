"""Small value types shared by kinds' params."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as ``90s``, ``15m``, ``4h``, ``1d``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90, 90s, 15m, 4h")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return float(match.group(1)) * _UNIT[match.group(2)]
    raise ValueError("expected a duration such as 90, 90s, 15m, 4h")


# Editors (`runner schema`) must accept what the validator accepts: a number or "90s", "15m"...
_DURATION_SCHEMA = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION.pattern}],
                    "description": "seconds, or a duration such as 90s, 15m, 4h, 1d"}
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
