"""`runner watch`: what `status` shows, redrawn in place every few seconds until Ctrl-C."""

from __future__ import annotations

import time

import typer

from runner.cli.app import app


def frame(doc: dict, width: int) -> str:  # type: ignore[type-arg]
    """One screen: the runner line, the variants at ``width`` columns, deploy errors, open findings."""
    from runner.cli.narrow import narrow_rows
    from runner.readmodels.liveness import describe

    lines = [describe(doc["runner"])]
    if doc.get("session"):
        lines.append(f"session {doc['session']}")
    lines.append("")
    lines += narrow_rows(doc["variants"], width) if doc["variants"] else ["no variants deployed"]
    if not all(v.get("running", True) or v["state"] in ("retired", "unknown") for v in doc["variants"]):
        lines.append("* not being run: no runner is running")
    for e in doc["errors"]:
        lines.append(f"deploy error {e['file']}: {e['message']}"[:width])
    for f in doc.get("findings", []):
        lines.append(f"finding {f['severity']} {f['check']} {f['variant'] or '*'}: {f['summary']}"[:width])
    return "\n".join(lines)


def _doc() -> dict:  # type: ignore[type-arg]
    from runner.cli.app import ctx
    from runner.cli.read import status_doc
    from runner.readmodels.records import findings

    doc = status_doc()
    db = ctx().reader()
    try:
        doc["findings"] = findings(db, limit=10)
    finally:
        db.close()
    return doc


@app.command()
def watch(interval: float = typer.Option(2.0, "--interval", help="seconds between refreshes (at least 0.5)"),
          once: bool = typer.Option(False, "--once", help="draw one frame and exit (scripts, tests)")) -> None:
    """A live view of `status` (runner, variants, deploy errors, open findings) until Ctrl-C."""
    import shutil

    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from runner.cli.app import ctx
    from runner.errors import BadInputError

    ctx().require_deployment()
    if interval < 0.5:
        raise BadInputError(f"--interval {interval}: at least 0.5 seconds")
    width = min(80, shutil.get_terminal_size((80, 24)).columns)
    console = Console(highlight=False)
    if once:
        console.print(Text(frame(_doc(), width)))  # Text, never markup: names and reasons are data
        return
    stamp = lambda: time.strftime("%H:%M:%S", time.gmtime()) + " UTC (Ctrl-C to leave)"  # noqa: E731
    try:
        with Live(Text(frame(_doc(), width) + "\n" + stamp()), console=console, auto_refresh=False,
                  screen=False) as live:
            while True:
                time.sleep(interval)
                live.update(Text(frame(_doc(), width) + "\n" + stamp()), refresh=True)
    except KeyboardInterrupt:
        pass
