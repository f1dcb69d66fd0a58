"""`runner run`: the foreground runner."""

from __future__ import annotations

import os
import signal

import typer

from runner.cli.app import app, ctx


@app.command()
def run(
    duration: float = typer.Option(None, "--duration", help="stop after this many seconds (default: until Ctrl-C)"),
    quiet: bool = typer.Option(False, "--quiet", help="print nothing but errors"),
    verbose: bool = typer.Option(False, "--verbose", help="every quote order and fill; lines not cut at 80 columns"),
    log_level: str = typer.Option("info", "--log-level", help="state/logs/runner.log: debug, info, warning, error"),
    log_format: str = typer.Option("text", "--log-format", help="state/logs/runner.log: text or json (JSON lines)"),
) -> None:
    """Run every deployed variant: watch strategies.d, trade, schedule audits."""
    from runner.embedded import init_deployment
    from runner.engine.deploy import read_variants
    from runner.engine.report import Reporter
    from runner.engine.runtime import Runtime
    from runner.engine.watch import StrategiesWatcher
    from runner.logs import FORMATS, LEVELS, setup_file_logging

    if log_level.lower() not in LEVELS or log_format not in FORMATS:
        from runner.errors import BadInputError

        raise BadInputError(f"--log-level must be one of {', '.join(LEVELS)} and --log-format one of "
                            f"{', '.join(FORMATS)} (got {log_level!r}, {log_format!r})")
    os.umask(os.umask(0o077) | 0o077)  # what the runner writes (ledger, sim, recordings) is private
    c = ctx()
    created = init_deployment(c.home)
    setup_file_logging(c.home, log_level.lower(), log_format)
    venues, config = c.venues(), c.config()
    ledger = c.ledger()
    reporter = Reporter(quiet=quiet, verbose=verbose)
    if created:
        reporter.info(f"fresh deployment in {c.home}: created {', '.join(created)} from the embedded samples")
    rt = Runtime(c.home, ledger, venues, config, reporter)
    stopping: list[int] = []

    def _stop(signum, _frame):  # type: ignore[no-untyped-def]
        stopping.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    strategies = c.home / "strategies.d"
    watcher = StrategiesWatcher(strategies, lambda: setattr(rt, "rescan", True),
                                read=lambda: read_variants(strategies, rt.venues), deliver=rt.offer_files)
    watcher.start()  # before the first scan: a file landing in between is not missed
    rt.start(threads=True)  # the venue half of each start runs on its account's thread
    extras = _start_extras(rt)
    try:
        rt.run(duration, should_stop=lambda: bool(stopping))
    finally:
        for stop in extras:
            stop()
        watcher.stop()
        rt.stop(clean=True)
        reporter.summary(list(rt.engines.values()))
        reporter.info("runner stopped")


def _start_extras(rt) -> list:  # type: ignore[no-untyped-def,type-arg]
    """Background services that other modules provide (audit scheduler...), if present."""
    stops = []
    try:
        from runner.audit.schedule import start_audit_scheduler
    except ImportError:
        return stops
    stops.append(start_audit_scheduler(rt))
    from runner.tune.schedule import start_tune_scheduler

    stops.append(start_tune_scheduler(rt))  # opt-in (runner.yaml tune.cron): writes candidates, never deploys
    return stops
