"""Where each variant has read its account's fills up to: one cursor per variant, not per account.

Two runners trading one venue account (two variants of a shared ledger, or a takeover in
progress) read the same fill stream. With one cursor per account, whichever read first moved
it past the other's fills, and those reached the ledger without ever reaching the engine that
placed the order (its stop-loss, its PnL for the day, its round trips). So each variant keeps
its own cursor (row ``fills:<variant>``), a runner reads once per distinct cursor of the
variants it holds (in the steady state they are equal: one read per account), and a fill is
booked by the holder of the order's variant, found by the client order id (salted per
deployment, so two ledgers on one account never claim each other's orders).

The account's row ``fills`` stays the low-water mark: every fill before it is booked. It moves
only when every live variant's cursor on the account has reached the same place, so the audit
(which reads the fills after it) and a newly deployed variant (which starts there) never skip
an unbooked fill. Cursors are opaque venue strings, hence "the same place", never "the least".
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from runner.ledger.store import T_CURSORS, T_STATE, Ledger

ACCOUNT = "fills"
PREFIX = "fills:"


def variant_cursors(ledger: Ledger, account: str, variants: Iterable[str]) -> dict[str, str | None]:
    """Each variant's cursor on ``account``; one that has none starts at the account's mark,
    and gets its own row there at once: without it, another runner's read moved the mark past
    this variant's first fills (the mark waited only for variants with a row), and as its reads
    started at the mark they never saw them."""
    c = T_CURSORS.c
    with ledger.engine.connect() as conn:
        rows = dict(conn.execute(select(c.name, c.value).where(
            c.account == account, (c.name == ACCOUNT) | c.name.like(f"{PREFIX}%"))).all())
    base = rows.get(ACCOUNT)
    missing = [PREFIX + v for v in variants if PREFIX + v not in rows]
    if missing:
        _claim(ledger, account, missing, base)
    return {v: rows.get(PREFIX + v, base) for v in variants}


def _claim(ledger: Ledger, account: str, names: list[str], value: str | None) -> None:
    """Rows for cursors that had none, at ``value`` (an older mark only means a longer read:
    fills already booked are not booked twice)."""
    for name in names:
        try:
            with ledger.engine.begin() as conn:
                conn.execute(insert(T_CURSORS).values(account=account, name=name, value=value))
        except IntegrityError:
            pass  # made at the same moment by another runner taking the variant over: it stands


def advance(ledger: Ledger, account: str, variants: Iterable[str], value: str | None) -> None:
    """Move these variants' cursors to ``value``, and the account's mark with them when every
    live variant on the account is there (a retired variant reads nothing more)."""
    names = [PREFIX + v for v in variants]
    for attempt in (1, 2):  # two runners creating the account's row at once: the second updates
        try:
            with ledger.engine.begin() as conn:
                for name in names:
                    _put(conn, account, name, value)
                if _all_at(conn, account, value):
                    _put(conn, account, ACCOUNT, value)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _put(conn: Connection, account: str, name: str, value: str | None) -> None:
    c = T_CURSORS.c
    res = conn.execute(update(T_CURSORS).where(c.account == account, c.name == name).values(value=value))
    if res.rowcount == 0:
        conn.execute(insert(T_CURSORS).values(account=account, name=name, value=value))


def _all_at(conn: Connection, account: str, value: str | None) -> bool:
    c, s = T_CURSORS.c, T_STATE.c
    live = select(s.variant).where(s.state != "retired")
    rows = conn.execute(select(c.name, c.value).where(c.account == account, c.name.like(f"{PREFIX}%"))).all()
    held = {name for name, in conn.execute(live).all()}
    return all(v == value for name, v in rows if name[len(PREFIX):] in held)
