"""Read models shared by the CLI, the dashboard and the agent: plain, bounded, JSON-able dicts.

Each reads the ledger only (the agent hands in a ledger opened read-only), so none of them
can change anything. ``db`` is the ORM-free handle the fast ones read through (``status``,
``records``, ``dust``, ``today``, ``runs``); ``runner.cli.views`` opens it on an open Ledger.
"""
