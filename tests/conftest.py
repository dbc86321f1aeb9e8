"""Shared fixtures. Real tokens from a developer's shell must never leak into tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "GOOGLE_", "KPI_")):
            monkeypatch.delenv(name, raising=False)
