"""``KPI_STATE_DB``: the bot's own small state (SQLAlchemy, SQLite or PostgreSQL).

It holds the digest's job store and delivery ledger and the slash-command deliveries
already answered. Several replicas may share one PostgreSQL, so everything here must
hold when they start at the same moment.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url

# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises table creation.
SCHEMA_LOCK_KEY = 0x6B70_6962_6F74  # "kpibot"


def state_engine(url: str) -> Engine:
    """An engine for ``KPI_STATE_DB``; a SQLite file's folder is created if missing."""
    parsed = make_url(url)
    options: dict = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Wait for another writer (a second scheduler or replica) instead of failing.
        options["connect_args"] = {"timeout": 30}
    return create_engine(url, **options)


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """Create ``metadata``'s missing tables.

    Replicas (or schedulers) starting together race between "does it exist?" and CREATE
    TABLE, and the losers fail to start ("already exists", or on PostgreSQL a unique
    violation in pg_type). So one creates while the others wait, then find the tables:
    a transaction-scoped advisory lock on PostgreSQL, the database's write lock taken
    up front (BEGIN IMMEDIATE) on SQLite."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        metadata.create_all(conn, checkfirst=True)
