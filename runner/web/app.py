"""The dashboard's routes: GET only, over a ledger opened read-only.

Each page has a fragment (``/fragment/...``) that the page's script polls every few seconds
and swaps in, so the page follows the runner without reloading. The ledger work of a request
runs in Starlette's thread pool (sync endpoints), never on the event loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from runner.web import pages
from runner.web.auth import TokenGate

HERE = Path(__file__).parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
REFRESH_MS = {"overview": 2000, "variant": 5000, "findings": 5000, "dust": 10000, "runs": 10000}


def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from runner.web.format import FILTERS

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    env.filters.update(FILTERS)
    return env


class Dashboard:
    """The app's state: the deployment's home, its read-only ledger, the template environment."""

    def __init__(self, home: Path, ledger: Any) -> None:
        self.home, self.ledger, self.env = home, ledger, _templates()

    def html(self, name: str, status: int = 200, **ctx: Any) -> Response:
        body = self.env.get_template(name).render(home=str(self.home), refresh=REFRESH_MS, **ctx)
        return HTMLResponse(body, status_code=status, headers={"Content-Security-Policy": CSP,
                                                               "Cache-Control": "no-store",
                                                               "X-Content-Type-Options": "nosniff"})

    def missing(self, what: str) -> Response:
        return self.html("missing.html", 404, page="", what=what)

    def overview(self, req: Request) -> Response:
        return self.html("overview.html", page="overview", d=pages.overview(self.ledger))

    def overview_fragment(self, req: Request) -> Response:
        return self.html("_overview.html", d=pages.overview(self.ledger))

    def variant(self, req: Request) -> Response:
        d = pages.variant(self.ledger, self.home, req.path_params["vid"])
        return self.html("variant.html", page="variant", d=d) if d else self.missing(f"variant {req.path_params['vid']}")

    def variant_fragment(self, req: Request) -> Response:
        d = pages.variant(self.ledger, self.home, req.path_params["vid"])
        return self.html("_variant.html", d=d) if d else self.missing(f"variant {req.path_params['vid']}")

    def findings(self, req: Request) -> Response:
        return self.html("findings.html", page="findings", d=pages.findings(self.ledger, self.home))

    def findings_fragment(self, req: Request) -> Response:
        return self.html("_findings.html", d=pages.findings(self.ledger, self.home))

    def dust(self, req: Request) -> Response:
        return self.html("dust.html", page="dust", d=pages.dust(self.ledger))

    def runs(self, req: Request) -> Response:
        return self.html("runs.html", page="runs", d=pages.runs(self.ledger, self.home))

    def run(self, req: Request) -> Response:
        d = pages.run(self.ledger, self.home, req.path_params["run_id"])
        return self.html("run.html", page="runs", d=d) if d else self.missing(f"backtest run {req.path_params['run_id']}")


def create_app(home: Path, ledger: Any, token: str | None = None) -> Any:
    """The ASGI app: the dashboard's routes behind the token gate (a gate with no token lets all in)."""
    d = Dashboard(home, ledger)
    routes = [
        Route("/", d.overview), Route("/fragment/overview", d.overview_fragment),
        Route("/variant/{vid}", d.variant), Route("/fragment/variant/{vid}", d.variant_fragment),
        Route("/findings", d.findings), Route("/fragment/findings", d.findings_fragment),
        Route("/dust", d.dust), Route("/runs", d.runs), Route("/runs/{run_id}", d.run),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.dashboard = d
    return TokenGate(app, token)
