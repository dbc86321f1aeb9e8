"""Metric and experiment alerts (issue #16): rules kept in ``KPI_STATE_DB``, evaluated
on every new complete data day, delivered exactly once through the digest's ledger."""
