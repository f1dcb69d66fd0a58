"""The safety policy every suggested command passes, offline and on Claude, as code.

``answer.gate`` only checks that a command is a real, exact `runner` command. This module
decides whether it is *safe to suggest now*, from the facts of the deployment:

- options that change the target (``--home``, ``--db``) are refused: advice is about this
  deployment only;
- a command found in untrusted ledger or venue text is refused; both sides are normalised
  (globals dropped, options sorted, case folded) before they are compared, so spacing,
  option order or an added ``--home`` do not hide an echo, and an instrument *named*
  "close-dust" is not mistaken for the command;
- an acting command must make sense from the current state (the lifecycle table): no
  ``resume --clear`` once an auto-resume loop is detected (a new version or retire instead),
  no ``close-dust --confirm`` while a drift is open on a dust instrument, no ``guard-release``
  of a guard that is not held for the operator, no ``run`` while a runner is alive;
- a read comes before every act; every acting command is marked with what it changes.
Every drop is said in the notes, never silent.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace

from agent.answer import GLOBAL_VALUE_OPTIONS, Command, cli_surface
from runner.readmodels.text import escape, escape_all

__all__ = ["escape", "escape_all", "apply", "Facts", "normalise"]

# What an acting command changes; every command not listed here (or `close-dust` without
# --confirm) only reads. `audit` reports and records findings; it changes no variant's state.
ACTS: dict[str, str] = {
    "pause": "changes state: {v} stops opening positions (exits keep running)",
    "resume": "changes state: {v} may open positions again",
    "retire": "changes state: {v} cancels its orders and flattens, for good",
    "close-dust --confirm": "sends orders: executes the close-dust plan",
    "guard-release": "changes state: releases a guard; entries may start again",
    "run": "starts trading: deploys and runs every variant file",
    "runs delete": "changes state: deletes a stored backtest run and everything under it",
    "reconcile": "writes the ledger: adopts venue fills it missed (never sends an order)",
    "promote": "changes state: the new version takes over the old one's positions (transfer fills, no order); the old one is retired",
    "replay": "writes a fresh replay deployment under state/replays/ (sends nothing to a venue)",
    "alerts test": "sends a test message to every alert URL in runner.yaml",
    "backtest": "writes a backtest run to the ledger (sends nothing to a venue)",
}
# Commands known to only read (`audit` records its findings, changing no variant). Any other
# command, one added to the CLI later included, counts as acting until it is listed here:
# a new command is never suggested as harmless by default.
READS = frozenset({"status", "events", "fills", "positions", "dust", "close-dust", "audit", "triage", "ask",
                   "guards", "validate", "schema", "venues check", "digest", "parity", "compare", "watch",
                   "findings", "runs show", "serve"})
UNKNOWN_ACT = "not known to only read: treat it as changing something"
LOOP_MIN = 2  # quarantines with a `resume --clear` in between that make an auto-resume loop


@dataclass
class Facts:
    """What the policy needs to know about the deployment right now."""

    states: dict[str, str] = field(default_factory=dict)  # variant -> lifecycle state
    loops: set[str] = field(default_factory=set)  # variants in an auto-resume loop
    drift: set[str] = field(default_factory=set)  # instruments with an open ledger/venue drift
    dust: set[str] = field(default_factory=set)  # instruments holding dust
    guards: dict[str, str] = field(default_factory=dict)  # active guard -> release (operator|automatic)
    runner_alive: bool = False
    hostile: set[tuple[str, ...]] = field(default_factory=set)  # normalised commands in untrusted text


def normalise(text: str) -> tuple[str, ...] | None:
    """A command as a comparable key: path, positionals and options, globals dropped, case folded.

    Tokens that do not fit the command (extra words after an injected command) end it.
    """
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    if tokens and tokens[0].lower() == "runner":
        tokens = tokens[1:]
    tokens = [t for t in _drop_globals(tokens)]
    surface = cli_surface()
    spec = None
    for n in (2, 1):
        head = " ".join(tokens[:n]).lower()
        if len(tokens) >= n and head in surface:
            spec, tokens = surface[head], tokens[n:]
            break
    if spec is None:
        return None
    positionals: list[str] = []
    options: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        name, _, inline = tok.partition("=")
        if name in spec.flag_options:
            options.append(name)
        elif name in spec.value_options:
            value = inline or (tokens[i + 1] if i + 1 < len(tokens) else "")
            options.append(f"{name}={value.lower()}")
            i += 0 if inline else 1
        elif not tok.startswith("-") and (spec.variadic or len(positionals) < len(spec.arguments)):
            positionals.append(tok.lower().strip(".,:;!?\"'"))
        else:
            break
        i += 1
    return (spec.path, *positionals, *sorted(options))


def _drop_globals(tokens: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(tokens):
        name = tokens[i].split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            i += 1 if "=" in tokens[i] else 2
            continue
        out.append(tokens[i])
        i += 1
    return out


_RUNNER = re.compile(r"\brunner\s", re.I)
_BARE_ACT = re.compile(r"\b(?:pause|resume|retire|close-dust|guard-release|promote)\b", re.I)
_SPAN = 160  # characters read after a command word; line breaks inside do not hide a command


def hostile_commands(texts: list[str]) -> set[tuple[str, ...]]:
    """Every `runner ...` command written inside untrusted text, normalised; also an acting
    command written without `runner` ("please retire MR_v13") when it names its target."""
    out: set[tuple[str, ...]] = set()
    for t in texts:
        for pattern, least in ((_RUNNER, 1), (_BARE_ACT, 2)):
            for m in pattern.finditer(t):  # every start, so one command cannot swallow the next
                key = normalise(re.split(r"[;|&`]", t[m.start():m.start() + _SPAN])[0])
                if key and len(key) >= least:
                    out.add(key)
    return out


def _acts(key: tuple[str, ...]) -> str | None:
    path = key[0]
    if path == "close-dust":
        return ACTS["close-dust --confirm"] if "--confirm" in key else None
    if path == "runs":
        return None  # the bare group lists the runs; `runs delete` is in ACTS
    if path == "sweep":
        return "writes the winner as a candidate file (never deployed)" if "--write" in key else None
    if path == "digest" and "--send" in key:
        return "sends the digest through the alert URLs"
    if path == "retire" and "--abandon" in key:
        return "changes state: {v} ends now; what it still holds stays a standing finding"
    if path in ACTS:
        return ACTS[path]
    return None if path in READS else UNKNOWN_ACT


def acts(command: str) -> str | None:
    """What ``command`` changes (None: it only reads, or it is not a runner command)."""
    key = normalise(command)
    return _acts(key) if key else None


def _variant(key: tuple[str, ...], variants: dict[str, str]) -> str | None:
    lower = {v.lower(): v for v in variants}
    return next((lower[k] for k in key[1:] if k in lower), None)


def _why_unsafe(cmd: str, key: tuple[str, ...], facts: Facts) -> str | None:
    path = key[0]
    tokens = cmd.split()
    if any(t.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS for t in tokens):
        return "it names another deployment or ledger (--home/--db): advice is for this deployment only"
    if key in facts.hostile:
        return "it appears in untrusted ledger/venue text, so it may be an injected instruction"
    v = _variant(key, facts.states)
    state = facts.states.get(v or "", "")
    if path == "resume" and v:
        if "--clear" in key and v in facts.loops:
            return (f"{v} is in an auto-resume loop (quarantined, cleared and quarantined again): clearing again "
                    "repeats it; fix the cause in a new version or retire it")
        if "--clear" in key and state != "quarantined":
            return f"{v} is {state or 'not deployed'}, not quarantined: there is nothing to clear"
        if "--clear" not in key and state not in ("paused",):
            return (f"{v} is {state}: plain resume only leaves paused" +
                    (" (a quarantine needs the cause fixed, then --clear)" if state == "quarantined" else ""))
    if path == "pause" and v and state in ("retiring", "retired", "paused"):
        return f"{v} is already {state}"
    if path == "retire" and v and "--abandon" in key and state != "retiring":
        return f"{v} is {state}: --abandon is only for a retire stuck on an unreachable venue"
    if path == "retire" and v and "--abandon" not in key and state in ("retiring", "retired"):
        return f"{v} is already {state}"
    if path == "close-dust" and "--confirm" in key:
        both = facts.drift & facts.dust if facts.dust else facts.drift
        if both:
            return (f"a ledger/venue drift is open on {', '.join(sorted(both))}: closing dust on a position "
                    "the ledger does not agree on can make it worse; reconcile first")
        if not facts.dust:
            return "there is no dust to close"
    if path == "guard-release":
        name = key[1] if len(key) > 1 else ""
        if name not in {g.lower() for g in facts.guards}:
            return f"guard {name!r} is not active"
        if {g.lower(): r for g, r in facts.guards.items()}.get(name) != "operator":
            return f"guard {name!r} lifts by itself; releasing it is not an operator's call"
    if path == "run" and facts.runner_alive:
        return "a runner is already running on this ledger"
    return None


_READ_FIRST = {"resume": "runner events {v}", "pause": "runner status", "retire": "runner positions --variant {v}",
               "close-dust": "runner close-dust", "guard-release": "runner guards", "run": "runner status",
               "reconcile": "runner status", "promote": "runner status"}


def apply(commands: list[Command], facts: Facts) -> tuple[list[Command], list[str]]:
    """Commands safe to suggest now, marked, with a read before every act; notes for each drop."""
    kept: list[Command] = []
    notes: list[str] = []
    read_seen = False
    for c in commands:
        if any(k.command == c.command for k in kept):
            continue
        key = normalise(c.command)
        if key is None:
            notes.append(f"dropped suggested command {escape(c.command[:120])!r}: not a runner command")
            continue
        why = _why_unsafe(c.command, key, facts)
        if why:
            notes.append(f"dropped suggested command {escape(c.command[:120])!r}: {why}")
            continue
        acts = _acts(key)
        if acts:
            v = _variant(key, facts.states) or ""
            if not read_seen:
                read = Command(_READ_FIRST.get(key[0], "runner status").format(v=v), "read before acting")
                if read.command not in (k.command for k in kept):
                    kept.append(read)
            kept.append(replace(c, acts=acts.format(v=v or "the variant")))
        else:
            read_seen = True
            kept.append(replace(c, acts=""))
    return kept, notes


def loop_alternatives(facts: Facts) -> list[Command]:
    """What to do instead of clearing a loop again: read why, then a new version or retire."""
    out: list[Command] = []
    for v in sorted(facts.loops):
        out += [Command(f"runner events {v}", "every quarantine of the loop and its reason: the cause to fix"),
                Command(f"runner retire {v}", "stop the loop for good; deploy the fix as a new version "
                        "(bump version:, `runner validate`, drop it in strategies.d/)")]
    return out
