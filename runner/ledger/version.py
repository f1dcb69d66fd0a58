"""The ledger's schema version and the main run's id, apart from the ORM models so that the
read path (``runner.readmodels.db``) can check them without importing SQLAlchemy."""

# 1: first schema. 2: orders.intent_id (maker reprices), findings, guards (additive: see runner.ledger.database.migrate).
# 3: variant_state.epoch (fencing), instruments.close_waives_minimum. 4: the same, for ledgers that
# reached 3 with only one of the two (both were developed apart); every step is additive.
SCHEMA_VERSION = 4
MAIN_RUN = "main"  # the continuous book of paper/live trading; backtests get their own run id
