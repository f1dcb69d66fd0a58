"""`runner digest`: the day's summary in one line plus details; `--send` to the alert URLs."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta

import typer

from runner.cli.app import app, ctx, emit_json


def _day(text: str | None) -> date:
    from runner.errors import BadInputError

    today = datetime.now(UTC).date()
    if not text or text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"--day: expected YYYY-MM-DD, today or yesterday (got {text!r})") from None


@app.command()
def digest(day: str = typer.Option(None, "--day", help="YYYY-MM-DD, today (default) or yesterday"),
           send: bool = typer.Option(False, "--send", help="also send it through runner.yaml alerts.urls"),
           as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout")) -> None:
    """The day's summary: PnL per venue, fills, findings, guards, anomalies (first line <= 160 chars)."""
    from runner.readmodels import digest as dg
    from runner.readmodels.text import escape_all

    c = ctx()
    led = c.ledger(create=False)
    try:
        if send:
            doc, delivered = dg.send(led, c.config().alerts.urls, _day(day), c.home)
        else:
            doc, delivered = dg.digest(led, _day(day), home=c.home), False
    finally:
        led.close()
    doc = escape_all(doc)
    if as_json:
        emit_json({**doc, "sent": delivered})
    else:
        sys.stdout.write(dg.text(doc) + "\n")
    if send and not delivered:
        typer.echo("error: the digest was not delivered (no alerts.urls in runner.yaml, or the notifier failed)",
                   err=True)
        raise typer.Exit(1)
