"""`runner serve`: the read-only web dashboard (runner.web) on loopback, or with a token."""

from __future__ import annotations

import os

import typer

from runner.cli.app import app, ctx


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host", help="bind address; other than loopback needs "
                                   "RUNNER_DASHBOARD_TOKEN"),
          port: int = typer.Option(8787, "--port", min=1, max=65535)) -> None:
    """A read-only web dashboard of this deployment (overview, variants, findings, dust, backtests)."""
    from runner.errors import BadInputError
    from runner.web.auth import TOKEN_ENV, token_problem

    token = os.environ.get(TOKEN_ENV) or None
    problem = token_problem(host, token)
    if problem:
        raise BadInputError(problem)
    c = ctx()
    c.require_deployment()
    import socket

    import uvicorn

    from runner.ledger.store import default_url
    from runner.readmodels.readonly import open_readonly
    from runner.web.app import create_app

    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise BadInputError(f"--host {host} --port {port}: cannot listen: {exc.strerror or exc}") from None
    ledger = open_readonly(c.db or default_url(c.home))
    typer.echo(f"dashboard of {c.home} on http://{host}:{port}/ (read-only{', token required' if token else ''}); "
               "Ctrl-C stops", err=True)
    config = uvicorn.Config(create_app(c.home, ledger, token), log_level="warning", access_log=False,
                            server_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        ledger.close()
