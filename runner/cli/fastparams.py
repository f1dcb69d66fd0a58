"""Plain conversion of the CLI's simple parameters, so a read command never imports pydantic.

Typer (0.2x) converts every parameter through a pydantic ``TypeAdapter``: importing pydantic and
building the adapters costs 0.15-0.35 s, more than a read command may take in all. Our options
are only ``str``, ``int``, ``float``, ``bool``, ``Path`` and lists or optionals of them, with no
constraints (no min/max, no ``exists=``), so those are converted here; anything else, and any
Typer whose internals differ, keeps Typer's own path (slower, same answers). Bad values give
Typer's usage error (exit 2) naming the option.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin


def _bool(value: Any) -> bool:  # noqa: ANN401 - a flag's value from an environment variable
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on"):
        return True
    if text in ("0", "false", "f", "no", "n", "off", ""):
        return False
    raise ValueError(value)


SIMPLE: dict[Any, Callable[[Any], Any]] = {str: str, int: int, float: float, bool: _bool, Path: Path}
_NAMES = {str: "text", int: "integer", float: "number", bool: "boolean", Path: "path"}


def _simple(annotation: Any) -> tuple[Any, bool] | None:  # noqa: ANN401
    """(the simple type, is a list) for an annotation we convert ourselves, else None."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _simple(args[0]) if len(args) == 1 else None
    if origin is list:
        (arg,) = get_args(annotation) or (None,)
        return (arg, True) if arg in SIMPLE else None
    return (annotation, False) if annotation in SIMPLE else None


def install() -> bool:
    """Route simple parameters around pydantic; False (nothing changed) if Typer's internals differ."""
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
    except ImportError:
        return False
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_runner_fast", False):
        return original is not None and getattr(original, "_runner_fast", False)

    @dataclass(frozen=True)
    class PlainRuntimeParam(base):  # type: ignore[misc,valid-type]
        kind: Any = None
        many: bool = False

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:  # noqa: ANN401
            if self.many:
                return [self._one(v, param, ctx) for v in value]
            return self._one(value, param, ctx)

        def _one(self, value: Any, param: Any, ctx: Any) -> Any:  # noqa: ANN401
            if isinstance(value, self.kind) and not (self.kind is int and isinstance(value, bool)):
                return value
            try:
                return SIMPLE[self.kind](value)
            except (TypeError, ValueError):
                raise BadParameter(f"{value!r} is not a valid {_NAMES[self.kind]}", ctx=ctx, param=param) from None

    def build_runtime_param(descriptor: Any) -> Any:  # noqa: ANN401
        info = descriptor.parameter_info
        found = _simple(descriptor.annotation)
        plain = (found is not None and descriptor.file_annotation is None
                 and getattr(info, "min", None) is None and getattr(info, "max", None) is None
                 and not any(getattr(info, k, False) for k in ("exists", "resolve_path", "writable"))
                 and getattr(info, "file_okay", True) and getattr(info, "dir_okay", True))
        if not plain:
            return original(descriptor)
        assert found is not None
        return PlainRuntimeParam(parameter_info=info, annotation=descriptor.annotation, kind=found[0], many=found[1])

    build_runtime_param._runner_fast = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True
