"""The semantic layer: metric requests compiled by MetricFlow, run by the bot's adapters.

Metrics and dimensions are defined once, in the dbt project's semantic models
(dbt_project/models/marts/semantic). ``dbt parse``/``dbt build`` validate them and write
``target/semantic_manifest.json``; ``bot.build`` keeps that file in
``dbt_project/target`` after every build. This module

* loads the manifest once (lazily, on first use: MetricFlow costs ~1.7 s of imports,
  which the server's start-up must not pay; nothing imports metricflow at
  ``import bot.warehouse``),
* points the manifest's relations at the warehouse it reads (the DuckDB file's catalog,
  or the BigQuery marts dataset), so one manifest serves every warehouse,
* builds a ``MetricFlowEngine`` with a small SQL client for the engine's dialect, and
  compiles a ``MetricRequest`` to SQL with ``explain`` (it never runs anything itself),
* caches the compiled SQL per request *shape*: dates and filter values are bind
  parameters, never part of the SQL, so one compile serves every window and value,
* reads the compiled catalog (``target/semantic_catalog.json``, ``semantic_catalog``)
  when it was compiled from the current manifest: the vocabulary, the dimensions'
  values SQL and common shapes' SQL without importing metricflow at all. ``compile``
  looks in its cache, then the catalog, then asks MetricFlow (loaded lazily, or by
  ``warm``). ``write_catalog`` compiles that file at build time (``python -m bot build``
  for DuckDB, ``python -m bot catalog`` for both dialects, as the Docker image does):
  every metric alone over a window — totals, by each dimension, by day/week/month, and
  with a one-value filter on a dimension (totals, by day) — relations compiled as
  placeholders that the reading warehouse's own ``mart_relation`` replaces,
* runs the SQL through the bot's own read-only DuckDB connection or BigQuery adapter
  (byte cap, labels), and
* exposes the vocabulary: metric names, labels, descriptions, the restricted flag from
  each metric's ``meta``, and each metric's dimensions by plain name.

Filter values: a person's value is matched case-insensitively against the dimension's
known values (a distinct-values query per dimension, cached), and only the warehouse's
own spelling of a known value travels, as a bind parameter (``$f0_0`` on DuckDB,
``@f0_0`` on BigQuery) written into MetricFlow's where filter. MetricFlow copies a where
filter's SQL verbatim apart from its Jinja, so no value is ever formatted into SQL.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from bot.core.metrics import (
    GRAINS,
    PERIOD_COLUMN,
    DimensionFilter,
    DimensionInfo,
    MetricInfo,
    MetricRequest,
)
from bot.core.table import Rows, is_null
from bot.warehouse import semantic_catalog as catalog_file
from bot.warehouse.base import WarehouseError, WarehouseNotBuilt, to_date

log = logging.getLogger("bot.warehouse.semantic")

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent / "dbt_project"
DEFAULT_MANIFEST_PATH = PROJECT_DIR / "target" / "semantic_manifest.json"
VALUES_TTL_S = 600.0  # known dimension values are re-read at most this often (a rebuild)
MAX_FILTER_VALUES = 50
MAX_COMPILED = 512  # compiled request shapes kept (oldest dropped first)
_ADDITIVE_AGGS = {"sum", "count"}
_METRIC_TIME = "metric_time"


class SemanticRequestError(WarehouseError):
    """A metric request the semantic layer can't answer as asked (unknown metric,
    dimension or value); ``str(err)`` says so in plain words."""


class SqlWarehouse(Protocol):
    """What the semantic layer needs of an adapter (DuckDBWarehouse, BigQueryWarehouse)."""

    engine: str

    def run_sql(self, label: str, sql: str, params: dict[str, Any]) -> Rows: ...

    def mart_relation(self, table: str) -> str: ...


@dataclass(frozen=True)
class CompiledQuery:
    """SQL from MetricFlow plus what it needs: the bind parameters it names and how its
    output columns map to the request's plain names."""

    sql: str
    parameters: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (MetricFlow column, plain column)


@dataclass(frozen=True)
class MetricResult:
    """Rows of a metric request: plain column names (``period`` for a grain, the
    dimension's plain name, then each metric), and the SQL that produced them.
    ``counts`` names the metrics whose unit is a count."""

    rows: Rows
    sql: str
    counts: tuple[str, ...] = ()

    @property
    def frame(self):  # -> pandas.DataFrame
        """The rows as a DataFrame, counts as nullable ``Int64`` (for tools and tests:
        the answering path reads ``rows`` and never imports pandas)."""
        frame = self.rows.to_frame()
        for name in self.counts:
            frame[name] = _as_counts(frame[name])
        return frame


# ----------------------------------------------------------------------------- the layer


class SemanticLayer:
    """Metric requests over one warehouse. Thread-safe; create one per warehouse."""

    def __init__(
        self,
        warehouse: SqlWarehouse,
        manifest_path: Path | None = None,
        values_ttl_s: float = VALUES_TTL_S,
        *,
        use_catalog: bool = True,
    ) -> None:
        self.warehouse = warehouse
        self.manifest_path = Path(manifest_path or DEFAULT_MANIFEST_PATH)
        self.catalog_path = (
            catalog_file.catalog_path_for(self.manifest_path) if use_catalog else None
        )
        self.values_ttl_s = values_ttl_s
        self._lock = threading.Lock()
        self._model: _Model | None = None
        self._catalog: _Catalogued | None = None
        self._catalog_read = False
        self._compiled: dict[tuple, CompiledQuery] = {}
        self._values: dict[str, tuple[float, tuple[str, ...]]] = {}

    # --- vocabulary ---------------------------------------------------------------------

    def metrics(self) -> dict[str, MetricInfo]:
        """Every metric dbt defines, by name."""
        return dict(self._vocabulary().metrics)

    def dimensions(self) -> dict[str, DimensionInfo]:
        """Every categorical dimension some metric has, by plain name."""
        return dict(self._vocabulary().dimensions)

    def dimension_values(self, dimension: str, metrics: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The known values of a dimension as ``metrics`` see it (sorted; NULL left out),
        cached for ``values_ttl_s`` seconds. A plain name can mean different columns for
        different metrics (``traffic_source``: the user's channel for orders, the
        session's for sessions), so pass the metrics when there are some."""
        vocabulary = self._vocabulary()
        if metrics:
            qualified = vocabulary.qualified_for(metrics, dimension)
        else:
            qualified = vocabulary.any_qualified(dimension)
        now = time.monotonic()
        with self._lock:
            cached = self._values.get(qualified)
        if cached is not None and now - cached[0] < self.values_ttl_s:
            return cached[1]
        sql = vocabulary.catalogued_values_sql(qualified) or self._loaded().values_sql(qualified)
        rows = self.warehouse.run_sql("semantic_values", sql, {})
        values = tuple(sorted(str(row[0]) for row in rows.data if not is_null(row[0])))
        with self._lock:
            self._values[qualified] = (now, values)
        return values

    # --- requests -----------------------------------------------------------------------

    def compile(self, request: MetricRequest) -> CompiledQuery:
        """The SQL for a request's shape: values and dates are parameters. From the
        in-memory cache, else the compiled catalog, else MetricFlow (loaded lazily)."""
        _check_request(request)
        shape = _shape(request)
        with self._lock:
            hit = self._compiled.get(shape)
        if hit is not None:
            return hit
        compiled = self._vocabulary().catalogued(shape) or self._loaded().compile(request)
        with self._lock:
            if len(self._compiled) >= MAX_COMPILED:  # bounded: `top N` makes shapes unbounded
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[shape] = compiled
        return compiled

    def query(self, request: MetricRequest) -> MetricResult:
        """Run a request: validate names and filter values, compile, bind, run."""
        compiled = self.compile(request)
        params = self._parameters(request)
        missing = set(compiled.parameters) - set(params)
        if missing:  # a shape and its parameters come from the same request
            raise RuntimeError(f"unbound parameters {sorted(missing)}")
        used = {name: params[name] for name in compiled.parameters}
        rows = _plain_rows(
            self.warehouse.run_sql("semantic_metric", compiled.sql, used), compiled.columns
        )
        metrics = self._vocabulary().metrics
        counts = tuple(name for name in request.metrics if metrics[name].unit == "count")
        return MetricResult(rows=rows, sql=compiled.sql, counts=counts)

    def warm(self) -> None:
        """Load the manifest and build the engine now (e.g. in a background thread), so
        that shapes the catalog lacks are compiled fast later."""
        self._vocabulary()
        self._loaded()

    def _parameters(self, request: MetricRequest) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.start is not None:
            params["window_start"] = request.start
        if request.end is not None:
            params["window_end"] = request.end
        for i, flt in enumerate(request.filters):
            for j, value in enumerate(self._known(flt, request.metrics)):
                params[f"f{i}_{j}"] = value
        return params

    def _known(self, flt: DimensionFilter, metrics: tuple[str, ...]) -> tuple[str, ...]:
        """The warehouse's own spelling of each filter value (case-insensitive match)."""
        known = self.dimension_values(flt.dimension, metrics)
        by_folded = {value.casefold(): value for value in known}
        matched, unknown = [], []
        for value in flt.values:
            hit = by_folded.get(str(value).strip().casefold())
            (matched if hit is not None else unknown).append(hit if hit is not None else value)
        if unknown:
            shown = ", ".join(known[:15]) + (", …" if len(known) > 15 else "")
            raise SemanticRequestError(
                f"{', '.join(repr(v) for v in unknown)} isn't a known {flt.dimension}. "
                f"Known values: {shown or '(none)'}."
            )
        return tuple(matched)

    def _loaded(self) -> _Model:
        with self._lock:
            if self._model is None:
                self._model = _Model.load(self.manifest_path, self.warehouse)
            return self._model

    def _vocabulary(self) -> _Vocabulary:
        """The compiled catalog if it is current, else the MetricFlow model."""
        with self._lock:
            if not self._catalog_read:
                self._catalog = self._read_catalog()
                self._catalog_read = True
            if self._catalog is not None:
                return self._catalog
        return self._loaded()

    def _read_catalog(self) -> _Catalogued | None:
        if self.catalog_path is None:
            return None
        started = time.perf_counter()
        try:
            manifest = self.manifest_path.read_bytes()
        except OSError:
            return None  # the MetricFlow path says what is missing
        try:
            section = catalog_file.read_dialect(
                self.catalog_path,
                manifest,
                self.warehouse.engine,
                catalog_file.metricflow_version(),
            )
            found = _Catalogued.from_section(section, self.warehouse)
        except FileNotFoundError:
            log.info("no semantic catalog at %s: MetricFlow compiles", self.catalog_path)
            return None
        except (catalog_file.CatalogError, ValueError, KeyError, TypeError) as err:
            log.warning(
                "semantic catalog %s ignored (%s): MetricFlow compiles every request",
                self.catalog_path,
                err,
            )
            return None
        log.info(
            "semantic catalog loaded shapes=%d ms=%.1f",
            len(found.shapes),
            (time.perf_counter() - started) * 1000,
        )
        return found


# ------------------------------------------------------------------ request validation


def _check_request(request: MetricRequest) -> None:
    if not request.metrics:
        raise SemanticRequestError("Ask for at least one metric.")
    if request.grain is not None and request.grain not in GRAINS:
        raise SemanticRequestError(f"Grain must be one of {', '.join(GRAINS)}.")
    if request.start and request.end and request.start > request.end:
        raise SemanticRequestError("The window starts after it ends.")
    if request.limit is not None and request.limit < 1:
        raise SemanticRequestError("The row limit must be at least 1.")
    for flt in request.filters:
        if not flt.values:
            raise SemanticRequestError(f"The filter on {flt.dimension} has no values.")
        if len(flt.values) > MAX_FILTER_VALUES:
            raise SemanticRequestError(
                f"A filter takes at most {MAX_FILTER_VALUES} values; {flt.dimension} has "
                f"{len(flt.values)}."
            )


def _shape(request: MetricRequest) -> tuple:
    """What the SQL depends on: everything but the dates' and filter values' values."""
    return (
        request.metrics,
        request.group_by,
        tuple((f.dimension, len(f.values)) for f in request.filters),
        request.start is not None,
        request.end is not None,
        request.grain,
        request.order_by,
        request.limit,
    )


def _plain_rows(rows: Rows, columns: tuple[tuple[str, str], ...]) -> Rows:
    """MetricFlow's columns under their plain names, in the request's order; periods as
    dates."""
    lowered = {str(c).lower(): i for i, c in enumerate(rows.columns)}  # BigQuery keeps case
    index = [lowered[source.lower()] for source, _ in columns]
    period = [plain == PERIOD_COLUMN for _, plain in columns]
    return Rows(
        tuple(plain for _, plain in columns),
        tuple(
            tuple(
                to_date(row[i]) if is_period else row[i]
                for i, is_period in zip(index, period, strict=True)
            )
            for row in rows.data
        ),
    )


def _as_counts(values):  # pandas.Series -> pandas.Series
    """Whole-number counts as nullable integers (NULL stays NULL: a group without rows)."""
    import pandas as pd

    numbers = pd.to_numeric(values)
    if bool(((numbers.dropna() % 1) == 0).all()):
        return numbers.round().astype("Int64")
    return numbers


# ------------------------------------------------------------- the loaded manifest/engine


_TIME_FILTER = "{{{{ TimeDimension('{name}', 'day') }}}} {op} {param}"
_DIMENSION_FILTER = "{{{{ Dimension('{name}') }}}} IN ({params})"


class _Vocabulary:
    """Metrics and dimensions by plain name, and each metric's qualified dimension names."""

    def __init__(self) -> None:
        self.metrics: dict[str, MetricInfo] = {}
        # metric -> plain dimension -> MetricFlow's entity-qualified name
        self.qualified: dict[str, dict[str, str]] = {}
        self.dimensions: dict[str, DimensionInfo] = {}

    def catalogued(self, shape: tuple) -> CompiledQuery | None:
        """A request shape's SQL compiled ahead of time, if there is one."""
        return None

    def catalogued_values_sql(self, qualified: str) -> str | None:
        return None

    def any_qualified(self, dimension: str) -> str:
        for names in self.qualified.values():
            if dimension in names:
                return names[dimension]
        raise SemanticRequestError(
            f"There's no dimension called {dimension!r}. "
            f"Known dimensions: {', '.join(sorted(self.dimensions))}."
        )

    def qualified_for(self, metrics: Iterable[str], dimension: str) -> str:
        """The one qualified name of ``dimension`` for all the metrics."""
        names = set()
        for metric in metrics:
            found = self.qualified[metric].get(dimension)
            if found is None:
                self.any_qualified(dimension)  # unknown anywhere: that message
                offered = ", ".join(sorted(self.qualified[metric])) or "none"
                raise SemanticRequestError(
                    f"{metric} can't be broken down or filtered by {dimension}. Its "
                    f"dimensions: {offered}."
                )
            names.add(found)
        if len(names) > 1:
            raise SemanticRequestError(
                f"{dimension} means different things for {', '.join(metrics)}; ask for "
                "them separately."
            )
        return names.pop()


class _Model(_Vocabulary):
    """The parsed manifest, the MetricFlow engine and the plain-name vocabulary."""

    def __init__(self, engine: Any, param_prefix: str) -> None:
        super().__init__()
        self.engine = engine
        self._param = param_prefix  # named bind parameters: $name (DuckDB), @name (BigQuery)
        # One explain at a time: the engine's id enumeration is not documented thread-safe.
        self._explain_lock = threading.Lock()

    @classmethod
    def load(cls, manifest_path: Path, warehouse: SqlWarehouse) -> _Model:
        try:
            data = manifest_path.read_bytes()
        except FileNotFoundError:
            raise WarehouseNotBuilt(
                f"The semantic layer's definitions ({manifest_path}) are missing. Run "
                "`python -m bot build` (or `dbt parse` in dbt_project) first."
            ) from None
        return cls.from_bytes(data, warehouse, str(manifest_path))

    @classmethod
    def from_bytes(cls, data: bytes, warehouse: SqlWarehouse, source: str) -> _Model:
        started = time.perf_counter()
        try:
            raw = json.loads(data)
        except ValueError as err:
            raise WarehouseError(f"The semantic manifest {source} is unreadable.") from err
        _point_relations_at(raw, warehouse)
        engine, manifest = _build_engine(json.dumps(raw), warehouse.engine)
        model = cls(engine, "@" if warehouse.engine == "bigquery" else "$")
        measures = {
            m.name: m.agg.value.lower() for sm in manifest.semantic_models for m in sm.measures
        }
        for metric in manifest.metrics:
            dims = model._metric_dimensions(metric.name)
            model.qualified[metric.name] = {plain: q for plain, (q, _) in dims.items()}
            for plain, (_, info) in dims.items():
                model.dimensions.setdefault(plain, info)
            model.metrics[metric.name] = _metric_info(metric, measures, tuple(sorted(dims)))
        log.info(
            "semantic manifest loaded metrics=%d seconds=%.2f",
            len(model.metrics),
            time.perf_counter() - started,
        )
        return model

    def _metric_dimensions(self, metric: str) -> dict[str, tuple[str, DimensionInfo]]:
        """Plain name -> (qualified name, info) of a metric's categorical dimensions. A
        dimension reachable along several entity paths (user__country and
        order__user__country) means the nearest one: the fewest joins."""
        best: dict[str, tuple[int, str, DimensionInfo]] = {}
        for dim in self.engine.simple_dimensions_for_metrics([metric]):
            if dim.type.value.lower() != "categorical":
                continue
            hops = len(dim.entity_links)
            info = DimensionInfo(
                name=dim.name, label=dim.label or dim.name, description=dim.description or ""
            )
            current = best.get(dim.name)
            if current is None or (hops, dim.dunder_name) < current[:2]:
                best[dim.name] = (hops, dim.dunder_name, info)
        return {plain: (q, info) for plain, (_, q, info) in best.items()}

    def values_sql(self, qualified: str) -> str:
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        request = MetricFlowQueryRequest.create(
            group_by_names=[qualified], order_by_names=[qualified]
        )
        with self._explain_lock:
            return self.engine.explain(request).sql_statement.sql

    def compile(self, request: MetricRequest) -> CompiledQuery:
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        unknown = [m for m in request.metrics if m not in self.metrics]
        if unknown:
            raise SemanticRequestError(
                f"There's no metric called {', '.join(map(repr, unknown))}. "
                f"Known metrics: {', '.join(sorted(self.metrics))}."
            )
        group_by, columns = [], []
        if request.grain is not None:
            group_by.append(f"{_METRIC_TIME}__{request.grain}")
            columns.append((group_by[-1], PERIOD_COLUMN))
        if request.group_by is not None:
            group_by.append(self.qualified_for(request.metrics, request.group_by))
            columns.append((group_by[-1], request.group_by))
        columns += [(m, m) for m in request.metrics]
        where, params = self._where(request)
        mf_request = MetricFlowQueryRequest.create(
            metric_names=list(request.metrics),
            group_by_names=group_by,
            where_constraints=where,
            order_by_names=self._order(request, {plain: mf for mf, plain in columns}),
            limit=request.limit,
        )
        started = time.perf_counter()
        with self._explain_lock:
            try:
                sql = self.engine.explain(mf_request).sql_statement.sql
            except Exception as err:  # MetricFlow's own validation of the request
                log.warning("explain failed: %s", err)
                raise SemanticRequestError(
                    "That combination of metrics and dimensions can't be answered."
                ) from err
        log.info("explain ms=%.1f", (time.perf_counter() - started) * 1000)
        return CompiledQuery(sql=sql, parameters=tuple(params), columns=tuple(columns))

    def _where(self, request: MetricRequest) -> tuple[list[str], list[str]]:
        where, params = [], []
        for op, name, value in (
            (">=", "window_start", request.start),
            ("<=", "window_end", request.end),
        ):
            if value is not None:
                where.append(_TIME_FILTER.format(name=_METRIC_TIME, op=op, param=self._p(name)))
                params.append(name)
        for i, flt in enumerate(request.filters):
            qualified = self.qualified_for(request.metrics, flt.dimension)
            names = [f"f{i}_{j}" for j in range(len(flt.values))]
            params += names
            where.append(
                _DIMENSION_FILTER.format(
                    name=qualified, params=", ".join(self._p(n) for n in names)
                )
            )
        return where, params

    def _p(self, name: str) -> str:
        return f"{self._param}{name}"

    def _order(self, request: MetricRequest, plain_to_mf: Mapping[str, str]) -> list[str]:
        if not request.order_by:
            if request.grain is not None:
                return [plain_to_mf[PERIOD_COLUMN]]
            if request.group_by is not None:
                return [f"-{request.metrics[0]}", plain_to_mf[request.group_by]]
            return []
        order = []
        for item in request.order_by:
            descending, name = item.startswith("-"), item.lstrip("-")
            if name not in plain_to_mf:
                raise SemanticRequestError(f"Can't order by {name!r}: it isn't in the answer.")
            order.append(("-" if descending else "") + plain_to_mf[name])
        return order


def _metric_info(metric: Any, measures: dict[str, str], dimensions: tuple[str, ...]) -> MetricInfo:
    meta = dict((metric.config.meta if metric.config else None) or {})
    kind = metric.type.value.lower()
    measure = metric.type_params.measure
    agg = measures.get(measure.name) if measure is not None else None
    additive = kind == "simple" and agg in _ADDITIVE_AGGS
    return MetricInfo(
        name=metric.name,
        label=metric.label or metric.name,
        description=" ".join((metric.description or "").split()),
        restricted=meta.get("restricted") is True,
        additive=additive,
        kind=kind,
        dimensions=dimensions,
        unit=str(meta.get("unit", "")),
        meta=meta,
    )


def _point_relations_at(raw: dict, warehouse: SqlWarehouse) -> None:
    """Rewrite every relation in the manifest to the warehouse's marts. dbt wrote them
    for the catalog/dataset it parsed against; the marts this layer reads may live in a
    file or dataset of another name."""
    nodes = [sm["node_relation"] for sm in raw.get("semantic_models", [])]
    config = raw.get("project_configuration", {})
    nodes += [spine["node_relation"] for spine in config.get("time_spines", [])]
    for node in nodes:
        node["relation_name"] = warehouse.mart_relation(node["alias"])
    for legacy in config.get("time_spine_table_configurations", []):
        legacy["location"] = warehouse.mart_relation(legacy["location"].split(".")[-1])


def _build_engine(manifest_json: str, dialect: str) -> tuple[Any, Any]:
    """Parse the manifest (dbt's transformations applied) and build the engine.

    metricflow is imported here, not at module level: importing it costs ~1.7 s, paid
    on the first metric question, not at server start-up."""
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json)
    engine = MetricFlowEngine(SemanticManifestLookup(manifest), _explain_only_client(dialect))
    return engine, manifest


def _explain_only_client(dialect: str) -> Any:
    """MetricFlow's SqlClient for ``explain`` only: the dialect and its renderer. The bot
    runs the SQL through its own adapters (read-only DuckDB connection, BigQuery with a
    byte cap and labels), so the running methods say so if anything ever calls them."""
    from metricflow.protocols.sql_client import SqlEngine

    if dialect == "bigquery":
        from metricflow.sql.render.big_query import BigQuerySqlPlanRenderer

        engine_type, renderer, prefix = SqlEngine.BIGQUERY, BigQuerySqlPlanRenderer(), "@"
    elif dialect == "duckdb":
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        engine_type, renderer, prefix = SqlEngine.DUCKDB, DuckDbSqlPlanRenderer(), "$"
    else:
        raise ValueError(f"no MetricFlow dialect for engine {dialect!r}")

    class ExplainOnlyClient:
        sql_engine_type = engine_type
        sql_plan_renderer = renderer

        def _not_here(self, *_: Any, **__: Any) -> Any:
            raise NotImplementedError(
                "MetricFlow only compiles here; bot.warehouse adapters run the SQL."
            )

        query = execute = dry_run = _not_here

        def close(self) -> None:
            return None

        def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
            return prefix + bind_parameter_key

    return ExplainOnlyClient()


# ------------------------------------------------------------------ the compiled catalog

# Dates and filter values are bind parameters, so any will do when compiling a shape.
_ANY_DAY = date(2000, 1, 1)
_ANY_VALUE = ("",)
CATALOG_GRAINS = GRAINS  # day, week, month
CATALOG_FILTER_GRAINS = (None, "day")  # `<metric> where dim = v`: totals, daily series/alerts


def catalog_requests(metrics: Mapping[str, MetricInfo]) -> list[MetricRequest]:
    """The request shapes the catalog holds: what a question about one metric asks
    (``bot.answerers.metrics``) and what an alert asks (``bot.alerts.service``), over a
    window with both ends, in the default order, without a limit — per metric: totals,
    by each dimension, by day/week/month, and with one single-value filter on each
    dimension (totals and by day)."""
    requests = []
    for name in sorted(metrics):
        window = {"metrics": (name,), "start": _ANY_DAY, "end": _ANY_DAY}
        dims = metrics[name].dimensions
        requests.append(MetricRequest(**window))
        requests += [MetricRequest(**window, group_by=dim) for dim in dims]
        requests += [MetricRequest(**window, grain=grain) for grain in CATALOG_GRAINS]
        requests += [
            MetricRequest(**window, grain=grain, filters=(DimensionFilter(dim, _ANY_VALUE),))
            for dim in dims
            for grain in CATALOG_FILTER_GRAINS
        ]
    return requests


@dataclass(frozen=True)
class CatalogWritten:
    """What ``write_catalog`` did: the dialects compiled now (none: it was current),
    shapes per dialect in the file, and the seconds it took."""

    path: Path
    compiled: tuple[str, ...]
    shapes: dict[str, int]
    seconds: float


def write_catalog(
    manifest_path: Path | None = None,
    dialects: Iterable[str] = catalog_file.DIALECTS,
    catalog_path: Path | None = None,
) -> CatalogWritten:
    """Compile the catalog of ``manifest_path`` (default: the project's) with MetricFlow
    for ``dialects`` and write it beside the manifest. Dialects a current catalog (same
    definitions, same MetricFlow) already holds are kept, not compiled again: a
    rebuild of the data with unchanged definitions costs a hash."""
    started = time.perf_counter()
    manifest_path = Path(manifest_path or DEFAULT_MANIFEST_PATH)
    catalog_path = Path(catalog_path or catalog_file.catalog_path_for(manifest_path))
    data = manifest_path.read_bytes()
    version = catalog_file.metricflow_version()
    sections = catalog_file.existing_dialects(catalog_path, data, version)
    todo = tuple(d for d in dict.fromkeys(dialects) if d not in sections)
    for dialect in todo:
        model = _Model.from_bytes(data, _Placeholders(dialect), str(manifest_path))
        sections[dialect] = _catalog_section(model)
    if todo:
        catalog_file.write(catalog_path, data, version, sections)
    seconds = time.perf_counter() - started
    shapes = {name: len(section.get("shapes", {})) for name, section in sections.items()}
    log.info(
        "semantic catalog path=%s compiled=%s shapes=%s seconds=%.1f",
        catalog_path,
        ",".join(todo) or "-",
        shapes,
        seconds,
    )
    return CatalogWritten(catalog_path, todo, shapes, seconds)


class _Placeholders:
    """A warehouse that names each mart by its catalog placeholder (compiling only)."""

    def __init__(self, dialect: str) -> None:
        self.engine = dialect

    def mart_relation(self, table: str) -> str:
        return catalog_file.relation_token(table)

    def run_sql(self, label: str, sql: str, params: dict[str, Any]) -> Rows:
        raise NotImplementedError("the catalog is compiled, never run")


def _compiled_json(compiled: CompiledQuery) -> dict[str, Any]:
    return {
        "sql": catalog_file.checked(compiled.sql),
        "parameters": list(compiled.parameters),
        "columns": [list(pair) for pair in compiled.columns],
    }


def _catalog_section(model: _Model) -> dict[str, Any]:
    shapes: dict[str, Any] = {}
    for request in catalog_requests(model.metrics):
        try:
            compiled = model.compile(request)
        except SemanticRequestError as err:  # a shape MetricFlow refuses is asked lazily
            log.info("catalog shape left out: %s", err)
            continue
        shapes[catalog_file.shape_key(_shape(request))] = _compiled_json(compiled)
    qualified = sorted({q for names in model.qualified.values() for q in names.values()})
    return {
        "metrics": {name: asdict(info) for name, info in sorted(model.metrics.items())},
        "qualified": model.qualified,
        "dimensions": {name: asdict(info) for name, info in sorted(model.dimensions.items())},
        "values_sql": {q: catalog_file.checked(model.values_sql(q)) for q in qualified},
        "shapes": shapes,
    }


class _Catalogued(_Vocabulary):
    """The vocabulary and compiled SQL read from the catalog, relations pointed at the
    reading warehouse's marts."""

    def __init__(self) -> None:
        super().__init__()
        self.values_sql: dict[str, str] = {}
        self.shapes: dict[str, CompiledQuery] = {}

    @classmethod
    def from_section(cls, section: Mapping[str, Any], warehouse: SqlWarehouse) -> _Catalogued:
        relations: dict[str, str] = {}

        def relation(alias: str) -> str:
            if alias not in relations:
                relations[alias] = warehouse.mart_relation(alias)
            return relations[alias]

        found = cls()
        for name, info in section["metrics"].items():
            found.metrics[name] = MetricInfo(**{**info, "dimensions": tuple(info["dimensions"])})
        found.qualified = {m: dict(names) for m, names in section["qualified"].items()}
        found.dimensions = {n: DimensionInfo(**info) for n, info in section["dimensions"].items()}
        found.values_sql = {
            q: catalog_file.substitute(sql, relation) for q, sql in section["values_sql"].items()
        }
        found.shapes = {
            key: CompiledQuery(
                sql=catalog_file.substitute(entry["sql"], relation),
                parameters=tuple(entry["parameters"]),
                columns=tuple((a, b) for a, b in entry["columns"]),
            )
            for key, entry in section["shapes"].items()
        }
        return found

    def catalogued(self, shape: tuple) -> CompiledQuery | None:
        return self.shapes.get(catalog_file.shape_key(shape))

    def catalogued_values_sql(self, qualified: str) -> str | None:
        return self.values_sql.get(qualified)
