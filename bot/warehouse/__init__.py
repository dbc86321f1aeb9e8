"""Warehouse access: one interface, a DuckDB and a BigQuery adapter."""

from __future__ import annotations

from bot.settings import Settings
from bot.warehouse.base import MartReader, Warehouse


def open_warehouse(settings: Settings) -> Warehouse:
    """The adapter the settings ask for; imports the engine's client only when used."""
    if settings.warehouse == "bigquery":
        from bot.warehouse.bigquery_adapter import BigQueryWarehouse

        assert settings.bigquery is not None  # Settings.from_env guarantees it
        return BigQueryWarehouse(settings.bigquery)
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    return DuckDBWarehouse(settings.duckdb_path, timeout_s=settings.query_timeout_s)


def open_reader(settings: Settings) -> MartReader:
    return MartReader(open_warehouse(settings))
