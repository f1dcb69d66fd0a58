"""The Typer application and the context every command shares (home, ledger URL)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    add_completion=True, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]}, rich_markup_mode=None, pretty_exceptions_enable=False,
    help="Declarative strategy runner. Reading commands accept --json. Exit: 0 ok, 1 problem found "
    "or action refused, 2 bad input.",
)


# Commands that need no deployment: they read files, or create one (`run`).
NO_DEPLOYMENT = frozenset({"run", "backtest", "validate", "schema", "replay", "parity"})


@dataclass
class Ctx:
    home: Path
    db: str | None
    command: str | None = None

    def ledger(self, create: bool = True):  # type: ignore[no-untyped-def]
        from runner.ledger.store import Ledger, default_url

        self.require_deployment()
        url = self.db or default_url(self.home)
        return Ledger(url, create=create)

    def reader(self, run: str = "main"):  # type: ignore[no-untyped-def]
        """A read-only handle (no ORM) on the ledger, or on the backtest runs for a run id."""
        from runner.ledger.paths import backtests_url, default_url
        from runner.readmodels.db import ReadDB

        self.require_deployment()
        live = self.db or default_url(self.home)
        if run == "main":
            return ReadDB.open(live)
        from runner.readmodels.runs import open_runs

        # a run in state/backtests.db, or one stored in the live ledger before runs moved out of it
        for db in (open_runs(backtests_url(self.home)), ReadDB.open(live)):
            if db is not None and db.one("SELECT 1 FROM runs WHERE run_id = ?", (run,)) is not None:
                return db
            if db is not None:
                db.close()
        return None  # an unknown run id

    def backtests(self):  # type: ignore[no-untyped-def]
        """The backtest runs' own ledger, ``state/backtests.db`` (created on first use)."""
        from runner.ledger.paths import backtests_url
        from runner.ledger.store import Ledger

        return Ledger(backtests_url(self.home))

    def require_deployment(self) -> None:
        """A --home without a deployment is bad input (exit 2), never a fresh empty ledger."""
        if self.db is None and self.command not in NO_DEPLOYMENT:
            from runner.errors import BadInputError
            from runner.readmodels.liveness import has_deployment

            if not has_deployment(self.home):
                raise BadInputError(f"--home {self.home}: no deployment here (no strategies.d, state/ or venues.yaml); "
                                    "`runner run` creates one")

    def venues(self):  # type: ignore[no-untyped-def]
        from runner.spec.deployment_config import load_venues

        return load_venues(self.home)

    def config(self):  # type: ignore[no-untyped-def]
        from runner.spec.deployment_config import load_runner_config

        return load_runner_config(self.home)


_CTX: list[Ctx] = []


@app.callback()
def root(
    click_ctx: typer.Context,
    home: Path = typer.Option(None, "--home", envvar="RUNNER_HOME", help="deployment directory (default: .)"),
    db: str = typer.Option(None, "--db", envvar="RUNNER_DB", help="ledger URL (default: sqlite state/ledger.db)"),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=lambda v: _version(v),
                                 help="print the version and exit"),
) -> None:
    _CTX.clear()
    _CTX.append(Ctx((home or Path(os.getcwd())).resolve(), db, click_ctx.invoked_subcommand))


def _version(wanted: bool) -> None:
    if not wanted:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        typer.echo(f"runner {version('runner')}")
    except PackageNotFoundError:
        typer.echo("runner (source checkout, not installed)")
    raise typer.Exit(0)


def ctx() -> Ctx:
    return _CTX[0]


def emit_json(doc: dict[str, Any]) -> None:
    from runner.ledger.jsonable import json_default

    sys.stdout.write(json.dumps(doc, default=json_default, indent=2) + "\n")
