"""Audits: pure checks of (ledger state, venue reports) that return findings."""
