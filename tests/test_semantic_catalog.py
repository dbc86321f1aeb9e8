"""The semantic layer's compiled catalog (issue #20, "start fast"): MetricFlow compiles
the vocabulary and common question shapes at build time, and the layer answers them
without importing metricflow — with exactly the SQL MetricFlow compiles live.

Real MetricFlow, real DuckDB over the small generated warehouse (``built_db``); the
BigQuery dialect is compared as SQL text only (nothing runs on BigQuery).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot import kinds
from bot.answerers.metrics import SemanticSource
from bot.answers import MetricAnswer, MetricCatalogAnswer
from bot.build import keep_semantic_catalog
from bot.service import KpiService
from bot.settings import BigQuerySettings
from bot.warehouse import semantic_catalog as catalog_file
from bot.warehouse.base import MartReader
from bot.warehouse.bigquery_adapter import BigQueryWarehouse
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from bot.warehouse.semantic import (
    DEFAULT_MANIFEST_PATH,
    SemanticLayer,
    _Catalogued,
    _Model,
    _shape,
    catalog_requests,
    write_catalog,
)
from tests.conftest import DEMO_END

ROOT = Path(__file__).resolve().parent.parent
AS_OF = DEMO_END + timedelta(days=1)
CLOCK = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 8, 0)  # naive UTC: answers' ages agree
MANIFEST = catalog_file.CATALOG_NAME.replace("catalog", "manifest")

# Catalogued shapes only: one metric; totals, a breakdown, a grain, a one-value filter.
CATALOGUED_QUESTIONS = (
    "revenue by country last 30 days",
    "orders by traffic source last 90 days",
    "new users last 120 days",  # weekly series by default
    "revenue where country = Brasil last 30 days",
    "gross margin by category last 30 days",
    "sessions where browser = Chrome last 60 days",
)
# Its "All others" row is a filter of several values: MetricFlow compiles it lazily.
UNCATALOGUED_QUESTIONS = ("aov by traffic source last 30 days", "orders, revenue last 4 weeks")


@pytest.fixture(scope="module")
def catalogued(built_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's manifest (kept by the build) with a catalog of both dialects."""
    directory = tmp_path_factory.mktemp("catalogued")
    shutil.copyfile(DEFAULT_MANIFEST_PATH, directory / MANIFEST)
    write_catalog(directory / MANIFEST)
    return directory / MANIFEST


@pytest.fixture(scope="module")
def uncatalogued(built_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("uncatalogued")
    shutil.copyfile(DEFAULT_MANIFEST_PATH, directory / MANIFEST)
    return directory / MANIFEST


def _warehouse(dialect: str, built_db: Path):
    if dialect == "duckdb":
        return DuckDBWarehouse(built_db)
    return BigQueryWarehouse(BigQuerySettings(project="acme-analytics", dataset="kpi_prod"))


def _service(built_db: Path, manifest: Path) -> KpiService:
    reader = MartReader(DuckDBWarehouse(built_db))  # its own adapter: its own layer
    return KpiService(reader, clock=lambda: CLOCK, semantic=SemanticSource(reader, manifest))


def test_the_build_writes_a_current_catalog(built_db: Path) -> None:
    data = DEFAULT_MANIFEST_PATH.read_bytes()
    section = catalog_file.read_dialect(
        catalog_file.catalog_path_for(DEFAULT_MANIFEST_PATH),
        data,
        "duckdb",
        catalog_file.metricflow_version(),
    )
    metrics = {m["name"] for m in json.loads(data)["metrics"]}
    assert set(section["metrics"]) == metrics
    shaped = {json.loads(key)[0][0] for key in section["shapes"]}
    assert shaped == metrics  # every metric has its shapes


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_every_catalogued_shape_is_the_sql_metricflow_compiles_live(
    dialect: str, built_db: Path, catalogued: Path
) -> None:
    warehouse = _warehouse(dialect, built_db)
    layer = SemanticLayer(warehouse, catalogued)
    live = _Model.load(catalogued, warehouse)  # MetricFlow, relations at this warehouse

    assert layer.metrics() == live.metrics
    assert {n: m.meta for n, m in layer.metrics().items()} == {
        n: m.meta for n, m in live.metrics.items()
    }
    assert layer.dimensions() == live.dimensions
    vocabulary = layer._vocabulary()
    assert isinstance(vocabulary, _Catalogued)
    assert vocabulary.qualified == live.qualified

    requests = catalog_requests(live.metrics)
    assert len(requests) > 150
    assert set(vocabulary.shapes) == {catalog_file.shape_key(_shape(r)) for r in requests}
    for request in requests:
        compiled = layer.compile(request)
        assert compiled == live.compile(request), request
        assert "kpi_catalog_relation" not in compiled.sql
    for qualified, sql in vocabulary.values_sql.items():
        assert sql == live.values_sql(qualified), qualified
    for alias in ("fct_order_items", "fct_orders", "dim_users", "fct_session_days"):
        relation = warehouse.mart_relation(alias)  # this warehouse's marts, substituted
        assert any(relation in c.sql for c in vocabulary.shapes.values()), alias
    assert layer._model is None  # the layer itself never started MetricFlow


def same_json(a: object, b: object) -> bool:
    """Equal, floats to 1e-12 relative: DuckDB sums doubles in parallel, so the last
    bits of a ratio (aov) can differ between two runs of the very same SQL."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_answers_with_the_catalog_are_the_answers_without_it(
    built_db: Path, catalogued: Path, uncatalogued: Path
) -> None:
    fast, slow = _service(built_db, catalogued), _service(built_db, uncatalogued)
    layer = fast.semantic.layer
    for text in CATALOGUED_QUESTIONS:
        answer = fast.ask(text, as_of=AS_OF, charts=False)
        assert isinstance(answer, MetricAnswer), (text, answer)
        expected = kinds.to_json_dict(slow.ask(text, as_of=AS_OF, charts=False))
        assert same_json(kinds.to_json_dict(answer), expected), text
    assert layer._model is None  # all of those came from the catalog
    for text in UNCATALOGUED_QUESTIONS:
        answer = fast.ask(text, as_of=AS_OF, charts=False)
        assert isinstance(answer, MetricAnswer), (text, answer)
        expected = kinds.to_json_dict(slow.ask(text, as_of=AS_OF, charts=False))
        assert same_json(kinds.to_json_dict(answer), expected), text
    assert layer._model is not None  # MetricFlow compiled what the catalog lacks


def test_catalogued_questions_never_import_metricflow(built_db: Path, catalogued: Path) -> None:
    code = f"""
import json, sys
from datetime import date
from pathlib import Path
from bot.answerers.metrics import SemanticSource
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

reader = MartReader(DuckDBWarehouse(Path({str(built_db)!r})))
kpi = KpiService(reader, semantic=SemanticSource(reader, Path({str(catalogued)!r})))
as_of = date.fromisoformat({AS_OF.isoformat()!r})
kinds = []
for text in ("revenue by country 2026-10-26 to 2026-11-24", "metrics", "dimensions revenue",
             "orders where country = Brasil last 30 days"):
    kinds.append(type(kpi.ask(text, as_of=as_of, charts=False)).__name__)
before = "metricflow" in sys.modules
kinds.append(type(kpi.ask("orders, revenue last 30 days", as_of=as_of, charts=False)).__name__)
print(json.dumps([kinds, before, "metricflow" in sys.modules]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    kinds_, before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    assert kinds_ == [
        "MetricAnswer",
        "MetricCatalogAnswer",
        "MetricCatalogAnswer",
        "MetricAnswer",
        "MetricAnswer",
    ]
    assert before is False  # the catalog answered all four
    assert after is True  # two metrics together: MetricFlow, loaded lazily


def test_a_stale_catalog_is_ignored_with_one_warning(
    built_db: Path, catalogued: Path, uncatalogued: Path, tmp_path: Path, caplog
) -> None:
    manifest = tmp_path / MANIFEST
    raw = json.loads(catalogued.read_bytes())
    revenue = next(m for m in raw["metrics"] if m["name"] == "revenue")
    revenue["description"] = "Revenue, described anew."  # changed after the catalog
    manifest.write_text(json.dumps(raw))
    shutil.copyfile(
        catalogued.with_name(catalog_file.CATALOG_NAME), tmp_path / "semantic_catalog.json"
    )

    stale, plain = _service(built_db, manifest), _service(built_db, uncatalogued)
    with caplog.at_level(logging.WARNING, logger="bot.warehouse.semantic"):
        for text in (
            "revenue by country last 30 days",
            "orders where country = Brasil last 30 days",
        ):
            answer = stale.ask(text, as_of=AS_OF, charts=False)
            assert isinstance(answer, MetricAnswer), (text, answer)
            expected = plain.ask(text, as_of=AS_OF, charts=False)
            assert kinds.to_json_dict(answer) == kinds.to_json_dict(expected), text
        listing = stale.ask("metrics", as_of=AS_OF, charts=False)
    assert isinstance(listing, MetricCatalogAnswer)
    described = {m.name: m.description for m in listing.metrics}
    assert described["revenue"] == "Revenue, described anew."  # today's manifest
    warnings = [r for r in caplog.records if "semantic catalog" in r.getMessage()]
    assert len(warnings) == 1 and "another semantic_manifest.json" in warnings[0].getMessage()
    assert stale.semantic.layer._model is not None


def test_a_catalog_of_another_metricflow_or_format_is_ignored(
    catalogued: Path, tmp_path: Path
) -> None:
    data = catalogued.read_bytes()
    raw = json.loads(catalogued.with_name(catalog_file.CATALOG_NAME).read_bytes())
    for change, words in (({"metricflow": "0.1.0"}, "MetricFlow 0.1.0"), ({"format": 99}, "99")):
        path = tmp_path / f"catalog-{words}.json"
        path.write_text(json.dumps({**raw, **change}))
        with pytest.raises(catalog_file.CatalogError, match=words):
            catalog_file.read_dialect(path, data, "duckdb", catalog_file.metricflow_version())


def test_a_current_catalog_is_kept_not_compiled_again(catalogued: Path) -> None:
    catalog = catalogued.with_name(catalog_file.CATALOG_NAME)
    before = catalog.stat().st_mtime_ns
    written = write_catalog(catalogued)
    assert written.compiled == () and catalog.stat().st_mtime_ns == before
    assert written.shapes["duckdb"] == written.shapes["bigquery"] > 150


def test_a_failing_catalog_compile_is_a_warning_not_a_failed_build(tmp_path: Path, caplog) -> None:
    (tmp_path / MANIFEST).write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="bot.build"):
        keep_semantic_catalog(tmp_path)  # returns: the build's swap is done already
    assert "semantic catalog not written" in caplog.text
    assert not (tmp_path / catalog_file.CATALOG_NAME).exists()
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]  # no temporary file left


def test_placeholders_are_substituted_whole() -> None:
    sql = (
        f"select * from {catalog_file.relation_token('fct_orders')} o "
        f"join {catalog_file.relation_token('fct_order_items')} i on true"
    )
    assert catalog_file.checked(sql) == sql
    out = catalog_file.substitute(sql, lambda alias: f'"kpi".main."{alias}"')
    assert (
        out == 'select * from "kpi".main."fct_orders" o join "kpi".main."fct_order_items" i on true'
    )
    with pytest.raises(catalog_file.CatalogError):
        catalog_file.checked("select * from kpi_catalog_relation.other.fct_orders")
    with pytest.raises(catalog_file.CatalogError):
        catalog_file.relation_token("fct_orders; drop table x")


def test_shape_keys_are_deterministic_and_ignore_values_and_dates() -> None:
    from bot.core.metrics import DimensionFilter, MetricRequest

    one = MetricRequest(
        ("revenue",),
        filters=(DimensionFilter("country", ("Brazil",)),),
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        grain="day",
    )
    other = MetricRequest(
        ("revenue",),
        filters=(DimensionFilter("country", ("Spain",)),),
        start=date(2025, 5, 1),
        end=date(2025, 6, 30),
        grain="day",
    )
    assert catalog_file.shape_key(_shape(one)) == catalog_file.shape_key(_shape(other))
    assert catalog_file.shape_key(_shape(one)) != catalog_file.shape_key(
        _shape(MetricRequest(("revenue",), start=date(2026, 1, 1), end=date(2026, 1, 31)))
    )


def test_the_catalog_key_is_the_definitions_not_where_the_marts_were_written(
    catalogued: Path,
) -> None:
    """Two builds into differently named files (dbt writes each file's catalog name into
    every relation) share a catalog; a changed definition does not."""
    raw = json.loads(catalogued.read_text())
    elsewhere = json.loads(catalogued.read_text())
    for sm in elsewhere["semantic_models"]:
        node = sm["node_relation"]
        node["database"] = "other_file"
        node["relation_name"] = f'"other_file"."main"."{node["alias"]}"'
    key = catalog_file.manifest_sha256
    assert key(json.dumps(elsewhere).encode()) == key(catalogued.read_bytes())
    raw["metrics"][0]["description"] = "changed"
    assert key(json.dumps(raw).encode()) != key(catalogued.read_bytes())
