"""`runner serve`: a read-only web dashboard of a deployment.

Server-rendered pages (Starlette, Jinja2) over the same read models as the CLI and the agent,
from a ledger opened read-only at the database level; no route writes. Nothing in the engine
imports this package (an import-linter contract says so).
"""
