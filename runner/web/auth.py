"""Who may read the dashboard: anyone on loopback, else only with the token.

A bind other than loopback needs ``RUNNER_DASHBOARD_TOKEN`` (refused at start without it).
Every request then shows the token: ``Authorization: Bearer``, ``X-Runner-Token``, or
``?token=`` once (which sets an HttpOnly cookie, so links and the live refresh keep working).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from starlette.responses import PlainTextResponse, RedirectResponse

TOKEN_ENV = "RUNNER_DASHBOARD_TOKEN"
COOKIE = "runner_dashboard"
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_problem(host: str, token: str | None) -> str | None:
    """Why the dashboard may not start on ``host`` (None: it may)."""
    if is_loopback(host):
        return None
    if not token:
        return (f"--host {host} is not loopback: set {TOKEN_ENV} (at least {MIN_TOKEN} characters) so every "
                "request must show it, or bind 127.0.0.1")
    if len(token) < MIN_TOKEN:
        return f"{TOKEN_ENV} is too short for a non-loopback bind (at least {MIN_TOKEN} characters)"
    return None


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


class TokenGate:
    """ASGI middleware: 401 for any request without the token (when one is configured)."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.token:
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        req = Request(scope)
        auth = req.headers.get("authorization", "")
        shown = auth[7:] if auth.lower().startswith("bearer ") else req.headers.get("x-runner-token")
        if _same(shown, self.token) or _same(req.cookies.get(COOKIE), self.token):
            await self.app(scope, receive, send)
            return
        if _same(req.query_params.get("token"), self.token):
            # the token leaves the URL (history, logs): the cookie carries it from here on
            resp: Any = RedirectResponse(req.url.remove_query_params("token"), status_code=303)
            resp.set_cookie(COOKIE, self.token, httponly=True, samesite="strict",
                            secure=req.url.scheme == "https")
        else:
            resp = PlainTextResponse("401: this dashboard needs its token (?token=... once, or an "
                                     "Authorization: Bearer header)", status_code=401)
        await resp(scope, receive, send)
