"""dbt validates the semantic layer: a broken semantic model or metric fails `dbt parse`
and `python -m bot build` (which runs `dbt build`), and the live warehouse is untouched.

Each test copies the dbt project to a temporary directory and breaks one definition; the
unbroken copy parses (the control), so a failure means the break was caught.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.build import BuildError, build
from bot.demo_data import generate

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
SEMANTIC_DIR = Path("models") / "marts" / "semantic"


def _copy_project(tmp_path: Path) -> Path:
    target = tmp_path / "dbt_project"
    shutil.copytree(
        PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    return target


def _break(project: Path, file: str, old: str, new: str) -> None:
    path = project / SEMANTIC_DIR / file
    text = path.read_text()
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1))


def _parse(project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "KPI_"))}
    env.update(
        KPI_DUCKDB_PATH=str(tmp_path / "unused.duckdb"),
        DBT_PROFILES_DIR=str(project),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "parse", "--project-dir", str(project),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip


def test_the_unbroken_copy_parses_and_writes_the_semantic_manifest(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    result = _parse(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "target" / "semantic_manifest.json").is_file()


def test_a_metric_on_a_missing_measure_fails_dbt_parse(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    _break(project, "_metrics.yml", "measure: item_revenue", "measure: no_such_measure")
    result = _parse(project, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "no_such_measure" in output


def test_a_semantic_model_without_primary_entity_fails_the_build(tmp_path: Path) -> None:
    """bot.build (dbt build on a copy) refuses the project; the live file is unchanged."""
    project = _copy_project(tmp_path)
    _break(
        project,
        "_semantic_models.yml",
        "      - name: user\n        type: primary\n",
        "      - name: user\n        type: foreign\n",
    )
    db = tmp_path / "kpi.duckdb"
    generate(db, users=60, seed=1, end=date(2026, 11, 24))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(BuildError) as caught:
        build(db, project_dir=project)
    assert "Semantic Manifest validation failed" in str(caught.value)
    assert "semantic model users" in str(caught.value)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (project / "target" / "semantic_manifest.json").exists()
