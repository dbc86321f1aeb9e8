"""BigQuery adapter: named query parameters, a byte cap and a label on every job.

Transient errors (rate limits, 5xx, connection resets) are retried by the client's own
retry objects with a deadline tied to the query timeout, so a slow warehouse turns into
a clear timeout reply instead of a hung command.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import time
from datetime import date, datetime
from typing import Any

import pandas as pd
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import bigquery

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
_TRANSIENT = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    ConnectionError,
)


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
    name: str, params: dict[str, Any], maximum_bytes_billed: int
) -> bigquery.QueryJobConfig:
    return bigquery.QueryJobConfig(
        query_parameters=[query_parameter(k, v) for k, v in sorted(params.items())],
        maximum_bytes_billed=maximum_bytes_billed,
        labels={**JOB_LABELS, "query": name.replace("_", "-")},
        use_query_cache=True,
    )


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

    def run(self, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        params = params or {}
        sql, expected = render_query(name, self.marts, param_style="@")
        check_params(name, expected, params)
        timeout = self.settings.job_timeout_s
        retry = Retry(predicate=lambda err: isinstance(err, _TRANSIENT), deadline=timeout)
        started = time.perf_counter()
        try:
            job = self.client.query(
                sql,
                job_config=job_config(name, params, self.settings.maximum_bytes_billed),
                location=self.settings.location,
                retry=retry,
                timeout=timeout,
                job_retry=None,
            )
            frame = job.result(timeout=timeout, retry=retry).to_dataframe(
                create_bqstorage_client=False
            )
        except (concurrent.futures.TimeoutError, gexc.DeadlineExceeded, TimeoutError):
            raise WarehouseTimeout(
                f"BigQuery didn't answer within {timeout:g} s. Try again in a minute."
            ) from None
        except gexc.NotFound as err:
            raise WarehouseNotBuilt(
                f"The KPI tables aren't in {self.settings.project}.{self.settings.dataset} "
                "yet. Run `dbt build --target bigquery` first."
            ) from err
        except gexc.Forbidden as err:
            raise WarehouseUnavailable(
                "BigQuery refused the query (permissions or quota). Check the service "
                "account's roles."
            ) from err
        except gexc.BadRequest as err:
            if "bytesBilledLimitExceeded" in str(err) or "bytes billed" in str(err).lower():
                raise WarehouseError(
                    "The query would scan more than the configured byte limit "
                    "(KPI_BQ_MAX_BYTES_BILLED), so it wasn't run."
                ) from err
            raise WarehouseError("BigQuery rejected the query.") from err
        except (gexc.GoogleAPIError, *_TRANSIENT) as err:
            raise WarehouseUnavailable(
                f"BigQuery is unavailable right now ({type(err).__name__})."
            ) from err
        log.info(
            "query=%s engine=bigquery rows=%d duration_ms=%.1f bytes_processed=%s "
            "bytes_billed=%s cache_hit=%s",
            name,
            len(frame),
            (time.perf_counter() - started) * 1000,
            job.total_bytes_processed,
            job.total_bytes_billed,
            job.cache_hit,
        )
        return frame

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
