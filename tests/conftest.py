"""Shared fixtures. Real tokens from a developer's shell must never leak into tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.slack_double import SlackDouble


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "GOOGLE_", "KPI_")):
            monkeypatch.delenv(name, raising=False)


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
