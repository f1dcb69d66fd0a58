"""Strategy kinds: pure decision logic, registered by name (see ``registry``)."""
