"""README's worked example, done for real: a metric added to the dbt YAML only, the
project rebuilt, and the new metric answered by KpiService — no Python changed.

The dbt project is copied to a temporary directory (the live one is untouched), one
ratio metric is appended to its ``_metrics.yml``, ``bot.build.build`` runs the real
``dbt build`` on a copy of the small warehouse, and the answer is checked against SQL
over the raw tables."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bot import kinds
from bot.answerers.metrics import SemanticSource
from bot.answers import MetricAnswer, MetricCatalogAnswer
from bot.build import build
from bot.core.windows import parse_window
from bot.service import KpiService
from bot.warehouse import semantic_catalog
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.test_slack_app import CLOCK

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 25)

# Exactly the YAML the README shows (README.md, "Adding a metric").
NEW_METRIC = """
  - name: items_per_order
    label: Items per order
    description: >
      Items of Complete orders / Complete orders, recomputed for every group and window
      (never an average of daily values).
    type: ratio
    type_params:
      numerator: items_sold
      denominator: orders
    config:
      meta:
        restricted: false
"""


def test_the_readme_yaml_is_the_one_tested() -> None:
    readme = (ROOT / "README.md").read_text()
    assert NEW_METRIC.strip() in readme


def test_a_metric_added_in_yaml_is_answered_after_a_rebuild(
    built_db: Path, tmp_path: Path
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs")
    )
    metrics_yml = project / "models" / "marts" / "semantic" / "_metrics.yml"
    metrics_yml.write_text(metrics_yml.read_text().rstrip("\n") + "\n" + NEW_METRIC)
    db = tmp_path / "kpi.duckdb"
    shutil.copyfile(built_db, db)

    build(db, project_dir=project)  # the real dbt build; keeps target/semantic_manifest.json

    reader = MartReader(DuckDBWarehouse(db))
    manifest = project / "target" / "semantic_manifest.json"
    catalog = semantic_catalog.read_dialect(  # rewritten for the new manifest, by the build
        project / "target" / semantic_catalog.CATALOG_NAME,
        manifest.read_bytes(),
        "duckdb",
        semantic_catalog.metricflow_version(),
    )
    assert "items_per_order" in catalog["metrics"]
    kpi = KpiService(reader, clock=lambda: CLOCK, semantic=SemanticSource(reader, manifest))
    try:
        listing = kpi.ask("metrics", as_of=AS_OF, charts=False)
        assert isinstance(listing, MetricCatalogAnswer)
        assert "items_per_order" in [m.name for m in listing.metrics]

        answer = kpi.ask("items per order by country last 90 days", as_of=AS_OF, charts=False)
        assert isinstance(answer, MetricAnswer), answer
        assert not kinds.is_restricted(answer)
        window = parse_window("last 90 days", AS_OF)
        with duckdb.connect(str(db), read_only=True) as raw:
            expected = dict(
                raw.execute(
                    """select u.country, count(i.id) / count(distinct o.order_id)
                       from thelook.orders o
                       join thelook.order_items i on i.order_id = o.order_id
                       join thelook.users u on u.id = o.user_id
                       where o.status = 'Complete'
                         and cast(o.created_at as date) between ? and ?
                       group by 1""",
                    [window.start, window.end],
                ).fetchall()
            )
        rows = kinds.to_json_dict(answer)["rows"]
        for row in rows:
            if row["others_count"] == 0:
                value = row["metrics"]["items_per_order"]["current"]
                assert value == pytest.approx(expected[row["value"]], rel=1e-9)
    finally:
        reader.warehouse.close()
