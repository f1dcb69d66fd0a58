"""`runner` command line: thin commands over the engine, the ledger and the control module."""

from __future__ import annotations

import sys

from runner.cli import (  # noqa: F401 - registers commands
    agent_cmd,
    digest_cmd,
    integrity,
    ops,
    parity_cmd,
    read,
    run_cmd,
    serve_cmd,
    surface_cmd,
    validate_cmd,
    venues_cmd,
)
from runner.cli.app import app

GLOBAL_OPTIONS = ("--home", "--db")


def _hoist_globals(argv: list[str]) -> list[str]:
    """Accept `--home`/`--db` anywhere on the line (`runner status --home X` works too)."""
    front, rest = [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        name = a.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in a:
                front.append(a)
            elif i + 1 < len(argv):
                front += [a, argv[i + 1]]
                i += 1
            else:
                rest.append(a)
        else:
            rest.append(a)
        i += 1
    return front + rest


def main(argv: list[str] | None = None) -> None:
    from runner.errors import BadInputError, LedgerWriteError, RefusedError
    from runner.privacy import mask_text

    args = _hoist_globals(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="runner", standalone_mode=True)
    except BadInputError as exc:
        print(mask_text(f"error: {exc}"), file=sys.stderr)
        sys.exit(2)
    except RefusedError as exc:
        print(mask_text(f"refused: {exc}"), file=sys.stderr)
        sys.exit(1)
    except LedgerWriteError as exc:
        print(mask_text(f"error: {exc}"), file=sys.stderr)
        sys.exit(1)
