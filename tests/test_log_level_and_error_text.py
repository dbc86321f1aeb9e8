"""``KPI_LOG_LEVEL`` is applied (``-v`` only raises it), and a missing warehouse file is
named in the log, not in the reply anyone in Slack can read."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answers import ErrorAnswer
from bot.cli import configure_logging
from bot.service import KpiService
from bot.settings import Settings, SettingsError
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("raw", "verbose", "level"),
    [
        ("", False, logging.WARNING),  # unset: as before
        ("info", False, logging.INFO),
        (" Debug ", False, logging.DEBUG),
        ("ERROR", False, logging.ERROR),
        ("ERROR", True, logging.INFO),  # -v raises it
        ("DEBUG", True, logging.DEBUG),  # and never lowers it
    ],
)
def test_kpi_log_level_is_applied_and_v_raises_it(raw: str, verbose: bool, level: int) -> None:
    settings = Settings.from_env({"KPI_LOG_LEVEL": raw} if raw else {})
    assert configure_logging(settings.log_level, verbose) == level


def test_an_unknown_log_level_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="KPI_LOG_LEVEL"):
        Settings.from_env({"KPI_LOG_LEVEL": "loud"})


def _ask(built_db: Path, tmp_path: Path, *flags: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KPI_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *flags, "ask", "revenue last 7 days",
         "--as-of", "2026-11-25", "--out", str(tmp_path)],
        cwd=ROOT,
        env=clean | {"KPI_DUCKDB_PATH": str(built_db), "PYTHONPATH": str(ROOT)} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr


def test_the_level_reaches_the_real_cli(built_db: Path, tmp_path: Path) -> None:
    """Before: KPI_LOG_LEVEL was read and ignored; only -v logged the queries."""
    assert "query=revenue_daily" in _ask(built_db, tmp_path, KPI_LOG_LEVEL="INFO")
    assert "query=" not in _ask(built_db, tmp_path)
    assert "query=" not in _ask(built_db, tmp_path, KPI_LOG_LEVEL="ERROR")
    assert "query=revenue_daily" in _ask(built_db, tmp_path, "-v", KPI_LOG_LEVEL="ERROR")


def test_a_missing_warehouse_file_is_named_in_the_log_not_the_reply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secret-folder" / "kpi.duckdb"
    kpi = KpiService(MartReader(DuckDBWarehouse(path)))
    with caplog.at_level(logging.WARNING):
        answer = kpi.ask("revenue last 7 days")
    assert isinstance(answer, ErrorAnswer) and answer.kind == "warehouse"
    assert "isn't available" in answer.message
    assert "secret-folder" not in answer.message and str(tmp_path) not in answer.message
    [line] = [r.getMessage() for r in caplog.records if "no warehouse file" in r.getMessage()]
    assert str(path) in line and "python -m bot build" in line
