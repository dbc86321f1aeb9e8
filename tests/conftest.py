"""Shared fixtures. Real tokens from a developer's shell must never leak into tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer, postgres_bin
from tests.slack_double import SlackDouble


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "GOOGLE_", "KPI_")):
            monkeypatch.delenv(name, raising=False)


# Read before the autouse fixture clears KPI_*: .ci/run sets it so that CI fails, not
# skips, when PostgreSQL is missing.
REQUIRE_POSTGRES = os.environ.get("KPI_TESTS_REQUIRE_POSTGRES") == "1"

# A fixed end date keeps every test's data identical whatever day the suite runs.
DEMO_END = date(2026, 11, 24)
DEMO_USERS = 3000
DEMO_SEED = 7


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo warehouse with the dbt marts built (real ``dbt build``).

    Shared by the whole session: treat it as read-only. Tests that rebuild or damage a
    warehouse copy it first (``shutil.copy``).
    """
    from bot.build import build
    from bot.demo_data import generate

    path = tmp_path_factory.mktemp("warehouse") / "kpi.duckdb"
    generate(path, users=DEMO_USERS, seed=DEMO_SEED, end=DEMO_END)
    build(path)
    return path


@pytest.fixture
def slack(request: pytest.FixtureRequest) -> Iterator[SlackDouble]:
    """A local Slack Web API double on a loopback port, expecting the test module's
    ``TOKEN``; the double must not have failed on its own by the end of the test."""
    token = getattr(request.module, "TOKEN", "xoxb-test-not-a-real-token")
    with SlackDouble(token=token) as double:
        yield double
        assert double.errors == [], "the double itself failed"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session (``tests/postgres_server.py``).

    Needs PostgreSQL's server binaries. Without them these tests are skipped, except in
    CI: ``.ci/run`` installs Debian's ``postgresql`` when missing and requires it."""
    found = postgres_bin()
    if found is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not installed"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " and KPI_TESTS_REQUIRE_POSTGRES is set")
        pytest.skip(message + " (Debian: apt-get install postgresql)")
    with PostgresServer(found) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def state_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ``KPI_STATE_DB``: a SQLite file, or a new database on the PostgreSQL that
    several replicas would share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return request.getfixturevalue("postgres").new_database()
