"""YAML loading that remembers where every key stands, so errors can say ``file:line``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from runner.errors import SpecError, SpecIssue
from runner.spec.safe_read import check_text, read_config_text

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedYaml:
    file: str
    data: Any
    lines: dict[Loc, int]  # path of keys/indices -> 1-based line

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its closest ancestor that exists in the file."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


# Limits that keep a hostile file from costing more than a bad one: a recursive alias, an
# alias bomb ("billion laughs") or 500 levels of brackets is refused with its line instead of
# recursing, freezing or exhausting memory.
MAX_DEPTH = 64  # levels of nesting (a variant file needs about 4)
MAX_NODES = 20_000  # nodes after expanding aliases
_FLOAT_TAG = "tag:yaml.org,2002:float"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent override is a classic config bug) and
    nesting deeper than MAX_DEPTH while composing (PyYAML's composer recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nesting deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _limit(file: str, node: yaml.Node, message: str) -> SpecError:
    return SpecError([SpecIssue(file, node.start_mark.line + 1, "", message)])


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], file: str, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise _limit(file, node, f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?)")
    if len(loc) > MAX_DEPTH:
        raise _limit(file, node, f"nesting deeper than {MAX_DEPTH} levels (a recursive alias?)")
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _limit(file, key_node, "a key must be a plain value, not a list or a mapping")
            key = key_node.value
            if key in seen:
                raise SpecError([SpecIssue(file, key_node.start_mark.line + 1, str(key), "duplicate key")])
            seen.add(key)
            _walk(value_node, (*loc, key), lines, file, budget)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), lines, file, budget)
    elif node.tag == _FLOAT_TAG and not _finite(node.value):
        key = ".".join(str(p) for p in loc)
        raise SpecError([SpecIssue(file, node.start_mark.line + 1, key,
                                   f"must be a finite number (got {node.value!r})")])


def _finite(text: str) -> bool:
    """Whether a YAML float scalar is a finite number (``.inf``, ``.nan`` and ``1e999`` are not)."""
    value = text.lower().replace("_", "")
    if value.lstrip("+-") in (".inf", ".nan"):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return True  # another YAML float spelling (sexagesimal...): its value is checked downstream


def parse_yaml(text: str, file: str) -> LocatedYaml:
    try:
        check_text(text, file)
        loader = _UniqueKeyLoader(text)
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(file, None, "", f"invalid YAML: {exc}")]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([SpecIssue(file, 1, "", "file is empty: expected a mapping of keys")])
        lines: dict[Loc, int] = {}
        _walk(node, (), lines, file, [MAX_NODES])
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError([SpecIssue(file, line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(file, None, "", f"invalid YAML: {exc}")]) from None
    except (RecursionError, MemoryError):
        raise SpecError([SpecIssue(file, None, "", "invalid YAML: too deeply nested or too large")]) from None
    finally:
        loader.dispose()
    return LocatedYaml(file, data, lines)


def read_text(path: Path) -> str:
    """A config file's text (regular file, size-capped, printable), or a SpecError naming the file."""
    return read_config_text(path)


def load_yaml(path: Path) -> LocatedYaml:
    return parse_yaml(read_text(path), str(path))


_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key (not allowed here)",
}


def issues_from_validation(
    exc: ValidationError, doc: LocatedYaml, prefix: Loc = ()
) -> list[SpecIssue]:
    """Map pydantic error locations back to YAML lines."""
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        key = ".".join(str(p) for p in loc)
        msg = _MESSAGES.get(err["type"], err["msg"])
        if err["type"] not in _MESSAGES and "input" in err and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        out.append(SpecIssue(doc.file, doc.line_of(loc), key, msg))
    return out
