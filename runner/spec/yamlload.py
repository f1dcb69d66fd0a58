"""YAML loading that remembers where every key stands, so errors can say ``file:line``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from runner.errors import SpecError, SpecIssue

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


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent override is a classic config bug)."""


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], file: str) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise SpecError([SpecIssue(file, key_node.start_mark.line + 1, str(key), "duplicate key")])
            seen.add(key)
            _walk(value_node, (*loc, key), lines, file)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), lines, file)


def parse_yaml(text: str, file: str) -> LocatedYaml:
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([SpecIssue(file, 1, "", "file is empty: expected a mapping of keys")])
        lines: dict[Loc, int] = {}
        _walk(node, (), lines, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError([SpecIssue(file, line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(file, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return LocatedYaml(file, data, lines)


def read_text(path: Path) -> str:
    """A config file's text, or a SpecError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecIssue(str(path), None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecIssue(str(path), None, "", f"cannot read file: {exc}")]) from None


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
