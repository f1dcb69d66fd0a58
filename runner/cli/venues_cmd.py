"""`runner venues check`: connectivity and credentials of every configured account."""

from __future__ import annotations

import time
from typing import Any

import typer

from runner.cli.app import app, ctx, emit_json

venues_app = typer.Typer(help="Venue accounts of venues.yaml.", no_args_is_help=True)
app.add_typer(venues_app, name="venues")


def check_account(name: str) -> dict[str, Any]:
    """Build the adapter, load its instruments (connectivity), read balances (credentials)."""
    from runner.engine.accounts import account_config
    from runner.errors import BadInputError, RunnerError
    from venues.registry import create_adapter

    c = ctx()
    acct = account_config(name, c.venues(), c.home)
    out: dict[str, Any] = {"account": name, "adapter": acct.adapter, "live": acct.live, "url": acct.url}
    missing = acct.missing_credentials()
    if missing:
        out.update(ok=False, stage="credentials", error=f"environment variables not set: {', '.join(missing)}")
        return out
    t0 = time.perf_counter()
    try:
        ad = create_adapter(acct)
        ad.connect()
        out["instruments"] = len(ad.instruments())
        out["balances"] = {b.currency: float(b.total) for b in ad.balances()[:10]}
        proved, how = _prove(ad, acct)
        ad.close()
        if proved is False:
            out.update(ok=False, stage="credentials", error=how)
            return out
        out["credentials"] = how
    except KeyError:
        out.update(ok=False, stage="config", error=f"unknown adapter {acct.adapter!r}")
        return out
    except BadInputError as exc:
        out.update(ok=False, stage="config", error=str(exc))
        return out
    except RunnerError as exc:
        out.update(ok=False, stage="venue", error_class=exc.error_class.value, error=str(exc))
        return out
    out.update(ok=True, latency_ms=round((time.perf_counter() - t0) * 1000, 1))
    return out


def _prove(ad: Any, acct: Any) -> tuple[bool | None, str]:  # noqa: ANN401 - an adapter and its account
    """What reading the balances proved about the credentials, or the adapter's own proof."""
    prove = getattr(ad, "prove_credentials", None)
    if prove is not None:
        return prove()  # type: ignore[no-any-return]
    if not acct.credentials:
        return None, "no credentials configured"
    return True, "a signed read-only request (balances) was accepted"


@venues_app.command("check")
def check(account: str = typer.Option(None, "--account", help="only this account"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Connect to every account (or one): instruments load, balances read. Exit 1 if any fails."""
    from runner.errors import BadInputError

    names = list(ctx().venues().accounts)
    if account:
        if account not in names:
            raise BadInputError(f"unknown account {account!r}; venues.yaml defines: {', '.join(names)}")
        names = [account]
    results = [check_account(n) for n in names]
    if as_json:
        emit_json({"accounts": results})
    else:
        for r in results:
            if r["ok"]:
                typer.echo(f"{r['account']:16} ok    {r['adapter']:12} {r.get('instruments', 0)} instruments, "
                           f"{r['latency_ms']} ms; credentials: {r.get('credentials', '')}")
            else:
                typer.echo(f"{r['account']:16} FAIL  {r['adapter']:12} {r['stage']}: {r['error']}")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)
