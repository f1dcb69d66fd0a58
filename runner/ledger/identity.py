"""The ledger's own identity: the salt of every client order id it hands out.

Two deployments on one account (two ledgers) must never produce the same client order id, or
one adopts the other's orders by id. The salt is drawn once, when a ledger first needs it, and
stored in it, so every restart (and every runner sharing a PostgreSQL ledger) derives the same
ids: an order written before a crash is still found by id after it. Kept in the cursors table
under a reserved account name, so no schema change is needed.
"""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from runner.ledger.store import T_CURSORS, Ledger

SALT_ACCOUNT = "*ledger*"  # a reserved row, never a venues.yaml account (fills cursors are per account)
SALT_NAME = "client_id_salt"


def client_id_salt(ledger: Ledger) -> str:
    """This ledger's salt, drawn and stored on first use (two racing processes agree on one)."""
    where = (T_CURSORS.c.account == SALT_ACCOUNT, T_CURSORS.c.name == SALT_NAME)
    with ledger.engine.connect() as conn:
        found = conn.execute(select(T_CURSORS.c.value).where(*where)).scalar()
    if found:
        return str(found)
    try:
        with ledger.begin() as conn:
            conn.execute(insert(T_CURSORS).values(account=SALT_ACCOUNT, name=SALT_NAME, value=secrets.token_hex(8)))
    except IntegrityError:
        pass  # another process stored one first: use theirs
    with ledger.engine.connect() as conn:
        return str(conn.execute(select(T_CURSORS.c.value).where(*where)).scalar())
