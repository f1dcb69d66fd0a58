"""The agent's answer, and the gate every suggested command passes before an operator sees it.

Commands are checked against the real CLI (the Typer app, introspected) and the real variant
ids: an unknown command, option or variant, a placeholder, or anything shell-like is dropped
and the drop is said in ``notes``. Both the offline triage and Claude go through this gate.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from typing import Any

GLOBAL_VALUE_OPTIONS = ("--home", "--db")
_SHELLY = re.compile(r"[;|&`$<>\\\n\r]")
_VARIANT_PARAMS = ("variant", "id", "variant_id")


@dataclass(frozen=True)
class Command:
    command: str
    why: str
    acts: str = ""  # what the command changes (set by agent.safety); empty: it only reads


@dataclass
class Answer:
    diagnosis: str
    evidence: list[Any] = field(default_factory=list)
    runbook: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = "offline"
    problem: bool = False  # something at warning or above: the CLI exits 1

    def to_json(self) -> dict[str, Any]:
        """The stable shape; every string escaped (ledger and venue text may hold control characters)."""
        from agent.safety import escape_all

        return escape_all({"diagnosis": self.diagnosis, "evidence": self.evidence, "runbook": self.runbook,
                           "commands": [{"command": c.command, "why": c.why, "acts": bool(c.acts),
                                         **({"changes": c.acts} if c.acts else {})} for c in self.commands],
                           "notes": self.notes, "source": self.source, "problem": self.problem})


@dataclass(frozen=True)
class CommandSpec:
    path: str  # "resume", "venues check"
    value_options: frozenset[str]
    flag_options: frozenset[str]
    arguments: tuple[str, ...]
    variadic: bool
    variant_options: frozenset[str]
    required: int = 0  # arguments without a default


@cache
def cli_surface() -> dict[str, CommandSpec]:
    """Every leaf command of the real `runner` CLI with its options and arguments."""
    import typer

    import runner.cli  # noqa: F401 - registers every command module
    from runner.cli.app import app

    root = typer.main.get_command(app)
    out: dict[str, CommandSpec] = {}

    def walk(cmd: Any, path: str) -> None:
        # Duck-typed: Typer may bring its own copy of click, so isinstance checks would lie.
        if isinstance(getattr(cmd, "commands", None), dict):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}".strip())
            return
        values, flags, variant_opts, args, variadic, required = set(), set(), set(), [], False, 0
        for p in cmd.params:
            if p.param_type_name == "argument":
                args.append(p.name or "")
                variadic |= p.nargs == -1
                required += bool(p.required)
            elif p.param_type_name == "option":
                names = set(p.opts) | set(p.secondary_opts)
                (flags if getattr(p, "is_flag", False) else values).update(names)
                if p.name in _VARIANT_PARAMS:
                    variant_opts.update(names)
        out[path] = CommandSpec(path, frozenset(values), frozenset(flags), tuple(args), variadic,
                                frozenset(variant_opts), required)

    walk(root, "")
    return out


def check_command(text: str, variants: set[str], surface: dict[str, CommandSpec] | None = None) -> str | None:
    """Why ``text`` is not an exact, runnable `runner` command; None when it is."""
    surface = surface if surface is not None else cli_surface()
    text = text.strip()
    if _SHELLY.search(text):
        return "contains shell syntax"
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        return f"cannot be parsed: {exc}"
    if len(tokens) < 2 or tokens[0] != "runner":
        return "not a `runner` command"
    rest = tokens[1:]
    rest = _strip_globals(rest)
    if rest is None:
        return "a global option lacks its value"
    spec = None
    for n in (2, 1):
        if len(rest) >= n and " ".join(rest[:n]) in surface:
            spec, rest = surface[" ".join(rest[:n])], rest[n:]
            break
    if spec is None:
        return f"`runner {rest[0] if rest else ''}` is not a command of this runner"
    positionals: list[str] = []
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok.startswith("-"):
            name, _, inline = tok.partition("=")
            if name in spec.flag_options and not inline:
                i += 1
                continue
            if name not in spec.value_options:
                return f"`runner {spec.path}` has no option {name}"
            value = inline or (rest[i + 1] if i + 1 < len(rest) else None)
            if value is None:
                return f"option {name} lacks its value"
            if name in spec.variant_options and value not in variants:
                return f"unknown variant {value!r}"
            i += 1 if inline else 2
            continue
        positionals.append(tok)
        i += 1
    if len(positionals) < spec.required:
        return f"`runner {spec.path}` lacks its argument(s): {', '.join(spec.arguments[len(positionals):])}"
    if len(positionals) > len(spec.arguments) and not spec.variadic:
        return f"`runner {spec.path}` takes {len(spec.arguments)} argument(s)"
    for name, value in zip(spec.arguments, positionals, strict=False):
        if name in _VARIANT_PARAMS and value not in variants:
            return f"unknown variant {value!r}"
    if any(_placeholder(v) for v in positionals):
        return "contains a placeholder, not an exact value"
    return None


def _strip_globals(tokens: list[str]) -> list[str] | None:
    out, i = [], 0
    while i < len(tokens):
        name = tokens[i].split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            if "=" not in tokens[i]:
                if i + 1 >= len(tokens):
                    return None
                i += 1
        else:
            out.append(tokens[i])
        i += 1
    return out


def _placeholder(value: str) -> bool:
    return bool(re.fullmatch(r"<[^>]*>|\{[^}]*\}|ID|VARIANT|NAME|FILE|PATH", value))


def gate(commands: list[Command], variants: set[str]) -> tuple[list[Command], list[str]]:
    """Keep exact runnable commands (deduplicated, in order); say why each other one went."""
    kept: list[Command] = []
    notes: list[str] = []
    seen: set[str] = set()
    for c in commands:
        norm = " ".join(c.command.split())
        if norm in seen:
            continue
        why = check_command(norm, variants)
        if why:
            notes.append(f"dropped suggested command {norm[:120]!r}: {why}")
            continue
        seen.add(norm)
        kept.append(Command(norm, c.why, c.acts))
    return kept, notes
