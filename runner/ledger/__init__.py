"""The ledger: SQLModel tables over SQLite (WAL) or PostgreSQL, and the one class that writes them."""
