"""`runner schema` (the variant files' JSON Schema) and `runner alerts test` (every alert URL, one by one)."""

from __future__ import annotations

import json

import typer

from runner.cli.app import app, ctx, emit_json

alerts_app = typer.Typer(help="The alert URLs of runner.yaml (alerts.urls).", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@app.command()
def schema() -> None:
    """Print the JSON Schema of variant files (per-kind params included), for an editor."""
    from runner.spec.schema import variant_schema

    typer.echo(json.dumps(variant_schema(), indent=2))


def send_test(url: str, title: str, body: str) -> tuple[bool, str]:
    """Send one test message to one URL; (delivered, what happened)."""
    import logging

    import apprise

    ap = apprise.Apprise()
    if not ap.add(url):
        return False, "unusable URL (unknown scheme or bad syntax)"
    records: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                records.append(record.getMessage())

    keep = _Keep()
    logger = logging.getLogger("apprise")
    logger.addHandler(keep)
    try:
        ok = bool(ap.notify(title=title, body=body, notify_type=apprise.NotifyType.INFO))
    except Exception as exc:  # noqa: BLE001 - a broken URL is a result to report, not a crash
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        logger.removeHandler(keep)
    return ok, "delivered" if ok else ("; ".join(records[-2:]) or "not delivered")


@alerts_app.command("test")
def alerts_test(as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout")) -> None:
    """Send a test message to every configured alert URL and report each result (exit 1 if any fails)."""
    import socket

    from runner.audit.alerts import _redact
    from runner.errors import BadInputError

    c = ctx()
    c.require_deployment()
    urls = list(c.config().alerts.urls)
    if not urls:
        raise BadInputError(f"{c.home / 'runner.yaml'}: no alert URLs configured (alerts.urls)")
    title = "runner: test alert"
    body = f"A test message from `runner alerts test` on {socket.gethostname()} ({c.home}). No action needed."
    results = []
    for url in urls:
        ok, what = send_test(url, title, body)
        results.append({"url": _redact(url), "delivered": ok, "result": what})
    if as_json:
        emit_json({"alerts": results})
    else:
        for r in results:
            typer.echo(f"{'ok    ' if r['delivered'] else 'FAILED'} {r['url']}: {r['result']}")
    if not all(r["delivered"] for r in results):
        raise typer.Exit(1)
