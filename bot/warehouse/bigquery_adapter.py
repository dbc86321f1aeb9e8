"""BigQuery adapter: named query parameters, a byte cap and a label on every job.

Transient errors (rate limits, 5xx, connection resets) are retried by the client's own
retry objects with a deadline tied to the query timeout, so a slow warehouse turns into
a clear timeout reply instead of a hung command. A failed query job is never re-run
(``job_retry=None``): a job that failed for a reason of its own (a byte limit, a missing
table) fails the same way again and would be billed again.

Cost guards (tests/test_bigquery_adapter.py): every job carries ``maximum_bytes_billed``
from settings, the labels ``app=kpi-bot`` and ``query=<name>`` (so the project's job
history and billing export can be filtered by them), named, typed query parameters, and
the marts dataset as its default dataset; the SQL files name only marts tables.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth import exceptions as auth_exc
from google.cloud import bigquery

from bot.core.table import Rows
from bot.settings import BigQuerySettings
from bot.warehouse.base import (
    WarehouseError,
    WarehouseNotBuilt,
    WarehouseTimeout,
    WarehouseUnavailable,
    check_params,
    render_query,
)

log = logging.getLogger("bot.warehouse")


JOB_LABELS = {"app": "kpi-bot"}
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.-]+$")
_MART_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_TRANSIENT = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    ConnectionError,
    requests.exceptions.ConnectionError,  # not a subclass of the builtin one
)
_TIMEOUTS = (
    concurrent.futures.TimeoutError,
    TimeoutError,
    gexc.DeadlineExceeded,
    requests.exceptions.Timeout,
)
BYTES_LIMIT_REASON = "bytesBilledLimitExceeded"


def query_parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter:
    """Map a Python value to a typed BigQuery parameter (bool before int: bool is an int)."""
    if isinstance(value, bool):
        kind = "BOOL"
    elif isinstance(value, int):
        kind = "INT64"
    elif isinstance(value, float):
        kind = "FLOAT64"
    elif isinstance(value, datetime):
        kind = "TIMESTAMP"
    elif isinstance(value, date):
        kind = "DATE"
    elif isinstance(value, str):
        kind = "STRING"
    else:
        raise TypeError(f"unsupported parameter type for {name}: {type(value).__name__}")
    return bigquery.ScalarQueryParameter(name, kind, value)


def job_config(
    name: str,
    params: dict[str, Any],
    maximum_bytes_billed: int,
    default_dataset: str | None = None,
) -> bigquery.QueryJobConfig:
    """The configuration of every query job the bot runs (pure: no client, no network).

    ``default_dataset`` ("project.dataset", the marts) is where an unqualified table name
    would resolve; the SQL files qualify every table with the marts anyway.
    """
    return bigquery.QueryJobConfig(
        query_parameters=[query_parameter(k, v) for k, v in sorted(params.items())],
        maximum_bytes_billed=maximum_bytes_billed,
        labels={**JOB_LABELS, "query": name.replace("_", "-")},
        default_dataset=default_dataset,
        use_query_cache=True,
    )


def friendly_error(err: Exception, settings: BigQuerySettings) -> WarehouseError:
    """The user-facing error for a failure of the client, the network or the job.

    Job failures arrive as the status class the client maps the job's ``errorResult``
    reason to; a reason the client doesn't know (``bytesBilledLimitExceeded`` among them)
    becomes a 500, so the reason is read before the class.
    """
    where = f"{settings.project}.{settings.dataset}"
    if isinstance(err, _TIMEOUTS):
        return WarehouseTimeout(
            f"BigQuery didn't answer within {settings.job_timeout_s:g} s. Try again in a minute."
        )
    if BYTES_LIMIT_REASON in _reasons(err) or "limit for bytes billed" in str(err).lower():
        return WarehouseError(
            "The query would scan more than the configured byte limit "
            f"(KPI_BQ_MAX_BYTES_BILLED = {settings.maximum_bytes_billed:,} bytes), "
            "so it wasn't run and nothing was billed."
        )
    if isinstance(err, gexc.NotFound):
        return WarehouseNotBuilt(
            f"The KPI tables aren't in {where} yet. Run `dbt build --target bigquery` first."
        )
    if isinstance(err, gexc.Forbidden | gexc.Unauthorized):
        return WarehouseUnavailable(
            f"BigQuery refused the query on {where} (permissions or quota). Check the "
            "service account's roles: BigQuery Job User on the project and BigQuery Data "
            "Viewer on the dataset."
        )
    if isinstance(err, auth_exc.GoogleAuthError):
        return WarehouseUnavailable(
            "BigQuery credentials are missing or invalid. Set GOOGLE_APPLICATION_CREDENTIALS "
            "to a service-account key file (or run on a machine with a service account)."
        )
    if isinstance(err, gexc.BadRequest):
        return WarehouseError("BigQuery rejected the query. The marts may be out of date.")
    return WarehouseUnavailable(f"BigQuery is unavailable right now ({type(err).__name__}).")


def _reasons(err: Exception) -> set[str]:
    errors = getattr(err, "errors", None) or []
    return {str(e.get("reason")) for e in errors if isinstance(e, dict)}


class BigQueryWarehouse:
    engine = "bigquery"

    def __init__(self, settings: BigQuerySettings, client: bigquery.Client | None = None) -> None:
        for value in (settings.project, settings.dataset):
            if not _IDENTIFIER.match(value):
                raise ValueError(f"not a BigQuery identifier: {value!r}")
        self.settings = settings
        self.marts = f"`{settings.project}.{settings.dataset}`"
        self._client = client

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:  # created lazily: start-up must not need the network
            options = (
                {"api_endpoint": self.settings.api_endpoint} if self.settings.api_endpoint else None
            )
            self._client = bigquery.Client(
                project=self.settings.project,
                location=self.settings.location,
                client_options=options,
            )
        return self._client

    def run(self, name: str, params: dict[str, Any] | None = None) -> Rows:
        params = params or {}
        sql, expected = render_query(name, self.marts, param_style="@")
        check_params(name, expected, params)
        return self._execute(name, sql, params)

    def run_sql(self, label: str, sql: str, params: dict[str, Any]) -> Rows:
        """Run SQL the bot generated (the semantic layer's MetricFlow SQL) as one more
        job with the same byte cap, labels (``query=<label>``) and typed ``@name``
        parameters as the named queries."""
        return self._execute(label, sql, params)

    def mart_relation(self, table: str) -> str:
        """A mart's fully qualified name, each part quoted: `project`.`dataset`.`table`.
        (MetricFlow splits a relation on dots, so a dotted project id can't be named.)"""
        if not _MART_NAME.match(table) or "." in self.settings.project:
            raise ValueError(f"not a mart this adapter can name: {self.settings.project}.{table}")
        return f"`{self.settings.project}`.`{self.settings.dataset}`.`{table}`"

    def _execute(self, name: str, sql: str, params: dict[str, Any]) -> Rows:
        timeout = self.settings.job_timeout_s
        retry = Retry(predicate=lambda err: isinstance(err, _TRANSIENT), deadline=timeout)
        started = time.perf_counter()
        config = job_config(
            name,
            params,
            self.settings.maximum_bytes_billed,
            default_dataset=f"{self.settings.project}.{self.settings.dataset}",
        )
        try:
            job = self.client.query(
                sql,
                job_config=config,
                location=self.settings.location,
                retry=retry,
                timeout=timeout,
                job_retry=None,
            )
            result = job.result(timeout=timeout, retry=retry)
            columns = tuple(field.name for field in result.schema)
            rows = Rows(columns, tuple(_plain_row(row.values()) for row in result))
        except (gexc.GoogleAPIError, auth_exc.GoogleAuthError, *_TIMEOUTS, *_TRANSIENT) as err:
            friendly = friendly_error(err, self.settings)
            log.warning("query=%s engine=bigquery failed: %s", name, type(err).__name__)
            raise friendly from err
        log.info(
            "query=%s engine=bigquery rows=%d duration_ms=%.1f bytes_processed=%s "
            "bytes_billed=%s cache_hit=%s",
            name,
            len(rows),
            (time.perf_counter() - started) * 1000,
            job.total_bytes_processed,
            job.total_bytes_billed,
            job.cache_hit,
        )
        return rows

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _plain_row(values: tuple) -> tuple:
    """NUMERIC values as floats (every reader of them turns them into floats or counts);
    the rest as the client returns them: int, float, str, date, aware datetime, None."""
    return tuple(float(value) if isinstance(value, Decimal) else value for value in values)
