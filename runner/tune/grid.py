"""A sweep's grid: which ``params`` to vary and the values, checked by the kind's own schema.

A sweep may only vary a variant's ``params``: a key of ``risk``, ``venue``, ``mode``, the live
gates or any other part of the file is refused (what and where), and so is a name that is not a
param of the kind. Each value is checked alone against the variant's params (a bad value is bad
input); a combination the kind refuses as a whole (``exit_z`` not below ``entry_z``) is skipped
and counted, never run.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from runner.errors import BadInputError
from runner.kinds.base import KindParams

# Top-level keys of a variant file (and venues.yaml's live gate) a sweep may never vary.
NOT_PARAMS = ("risk", "venue", "mode", "live", "instruments", "execution", "data", "sessions", "name", "version",
              "kind", "retired", "notes")


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[Any, ...]
    where: str  # "--grid #2" or "runner.yaml:14"


@dataclass
class Grid:
    axes: list[Axis]
    cells: list[dict[str, Any]]  # each: the params that differ from the file's (validated together)
    skipped: list[str] = field(default_factory=list)  # combinations the kind refused, with why
    total: int = 0  # cells of the full product, before sampling


def _scalar(text: str) -> Any:
    """A grid value as YAML reads it (``1.25``, ``true``, ``null``, ``15m``)."""
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text


def parse_axis(text: str, where: str) -> tuple[str, list[Any]]:
    """``entry_z=1.0,1.25,1.5`` -> ("entry_z", [1.0, 1.25, 1.5])."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name or not values.strip():
        raise BadInputError(f"{where}: expected PARAM=V1,V2,... (e.g. entry_z=1.0,1.25), got {text!r}")
    return name, [_scalar(v) for v in values.split(",")]


def _refuse_not_param(name: str, where: str, known: Sequence[str], kind: str) -> None:
    head = name.split(".", 1)[0]
    if head == "params" and "." in name:
        return
    if head in NOT_PARAMS:
        raise BadInputError(f"{where}: {name!r} is not a param: a sweep may only vary params "
                            f"(never risk limits, venue, mode or live gates); params of {kind}: {', '.join(known)}")
    if name not in known:
        raise BadInputError(f"{where}: unknown param {name!r} of kind {kind}; its params: {', '.join(known)}")


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
                     for e in exc.errors(include_url=False))


def build(axes_in: Sequence[tuple[str, Sequence[Any], str]], params_cls: type[KindParams], base: Mapping[str, Any],
          kind: str, random_n: int | None = None, seed: int = 0) -> Grid:
    """Validate every axis and value, then the cells (all, or ``random_n`` of them, seeded)."""
    known = list(params_cls.model_fields)
    axes: list[Axis] = []
    for raw, values, where in axes_in:
        _refuse_not_param(raw, where, known, kind)
        name = raw.removeprefix("params.")
        if name not in known:
            raise BadInputError(f"{where}: unknown param {name!r} of kind {kind}; its params: {', '.join(known)}")
        if any(a.name == name for a in axes):
            raise BadInputError(f"{where}: param {name!r} is already swept by an earlier --grid")
        if not values:
            raise BadInputError(f"{where}: no values for {name!r}")
        for v in values:
            try:
                params_cls.model_validate({**base, name: v})
            except ValidationError as exc:
                own = [e for e in exc.errors(include_url=False) if e["loc"] and e["loc"][0] == name]
                if own:  # the value itself is bad (a combined rule is judged per cell below)
                    raise BadInputError(f"{where}: {name}={v!r} is not valid for {kind}: "
                                        f"{'; '.join(e['msg'] for e in own)}") from None
        axes.append(Axis(name, tuple(dict.fromkeys(_hashable(v) for v in values)), where))
    if not axes:
        raise BadInputError("--grid: give at least one PARAM=V1,V2,...")
    product = [dict(zip([a.name for a in axes], combo, strict=True))
               for combo in itertools.product(*(a.values for a in axes))]
    total = len(product)
    if random_n is not None and random_n < total:
        product = random.Random(seed).sample(product, random_n)
    cells, skipped = [], []
    for cell in product:
        try:
            params_cls.model_validate({**base, **cell})
        except ValidationError as exc:
            skipped.append(f"{_cell_text(cell)}: {_problem(exc)}")
            continue
        cells.append(cell)
    if not cells:
        raise BadInputError(f"--grid: every combination is refused by {kind} (e.g. {skipped[0]})")
    return Grid(axes, cells, skipped, total)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _cell_text(cell: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in cell.items())
