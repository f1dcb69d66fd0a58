"""The ledger's tables as SQLAlchemy Core objects, named once for every module that writes or
reads them: the writes are Core statements (fast, no ORM session), the models are the rows."""

from __future__ import annotations

from runner.ledger import models as m

__all__ = ["T_CURSORS", "T_DEPLOY", "T_EQUITY", "T_ERRORS", "T_EVENTS", "T_FILLS", "T_HANDED", "T_HEART", "T_ORDERS",
           "T_POS", "T_RUNS", "T_SKIPS", "T_STATE", "T_TRANS"]

T_ORDERS = m.Order.__table__
T_EVENTS = m.OrderEvent.__table__
T_FILLS = m.Fill.__table__
T_POS = m.Position.__table__
T_TRANS = m.Transition.__table__
T_STATE = m.VariantState.__table__
T_SKIPS = m.SkipCount.__table__
T_EQUITY = m.EquitySnapshot.__table__
T_DEPLOY = m.Deployment.__table__
T_ERRORS = m.SpecErrorRow.__table__
T_RUNS = m.Run.__table__
T_CURSORS = m.Cursor.__table__
T_HEART = m.Heartbeat.__table__
T_HANDED = m.OrderHandover.__table__
