"""BigQuery cost guards and error handling of the bot's adapter, without any cloud.

* The job configuration the adapter builds (a pure function) for every named query:
  byte cap from settings, ``app=kpi-bot`` labels, named typed parameters, marts-only SQL.
* The real google-cloud-bigquery client against a scripted BigQuery REST double on
  loopback: what goes over the wire, and how each BigQuery failure (permissions, missing
  tables, the byte cap, rejected SQL, 5xx, a silent server, a closed port, no
  credentials) becomes a ``WarehouseError`` subclass with a plain-words message and a
  friendly ``ErrorAnswer`` from the service. The error bodies follow BigQuery's REST
  error format; the emulator can't produce most of them (it enforces no byte cap).
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exc
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from bot.answers import ErrorAnswer
from bot.build import MARTS
from bot.service import KpiService
from bot.settings import BigQuerySettings
from bot.warehouse.base import (
    QUERY_DIR,
    MartReader,
    WarehouseError,
    WarehouseNotBuilt,
    WarehouseTimeout,
    WarehouseUnavailable,
    render_query,
)
from bot.warehouse.bigquery_adapter import (
    JOB_LABELS,
    BigQueryWarehouse,
    friendly_error,
    job_config,
    query_parameter,
)
from tests.threads import join_or_fail

PROJECT = "acme-analytics"
SETTINGS = BigQuerySettings(
    project=PROJECT, dataset="kpi_marts", maximum_bytes_billed=123_456_789, job_timeout_s=1.0
)
MARTS_REF = f"`{PROJECT}.kpi_marts`"
# Values of the right type for every parameter a query file uses.
SAMPLE_PARAMS: dict[str, Any] = {
    "start_day": date(2026, 10, 1),
    "end_day": date(2026, 10, 31),
    "previous_start_day": date(2026, 9, 1),
    "previous_end_day": date(2026, 9, 30),
    "experiment_id": "checkout_redesign",
}
PARAM_TYPES = {
    "start_day": "DATE",
    "end_day": "DATE",
    "previous_start_day": "DATE",
    "previous_end_day": "DATE",
    "experiment_id": "STRING",
}
QUERY_NAMES = sorted(path.stem for path in QUERY_DIR.glob("*.sql"))
# BigQuery label keys and values: lower-case letters, digits, '_' and '-', at most 63.
LABEL = re.compile(r"^[a-z0-9_-]{1,63}$")


def params_for(name: str) -> dict[str, Any]:
    _, expected = render_query(name, MARTS_REF, param_style="@")
    return {p: SAMPLE_PARAMS[p] for p in expected}


# --- the job configuration (pure) ------------------------------------------------------


def test_there_are_query_files_to_check() -> None:
    assert {"revenue_daily", "experiment_metrics", "retention", "data_status"} <= set(QUERY_NAMES)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_job_config_has_cap_labels_and_named_parameters(name: str) -> None:
    params = params_for(name)
    config = job_config(
        name, params, SETTINGS.maximum_bytes_billed, default_dataset=f"{PROJECT}.kpi_marts"
    )
    assert config.maximum_bytes_billed == SETTINGS.maximum_bytes_billed
    assert config.labels == {"app": "kpi-bot", "query": name.replace("_", "-")}
    assert all(LABEL.match(k) and LABEL.match(v) for k, v in config.labels.items())
    assert config.default_dataset.project == PROJECT
    assert config.default_dataset.dataset_id == "kpi_marts"
    assert all(isinstance(p, bigquery.ScalarQueryParameter) for p in config.query_parameters)
    sent = {p.name: (p.type_, p.value) for p in config.query_parameters}
    assert sent == {k: (PARAM_TYPES[k], v) for k, v in params.items()}
    api = config.to_api_repr()["query"]
    assert api["maximumBytesBilled"] == str(SETTINGS.maximum_bytes_billed)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_query_reads_only_the_marts(name: str) -> None:
    sql, _ = render_query(name, MARTS_REF, param_style="@")
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    sources = re.findall(r"\b(?:from|join)\s+([^\s(),]+)", code, flags=re.IGNORECASE)
    assert sources, sql
    for source in sources:
        prefix, _, table = source.rpartition(".")
        assert prefix == MARTS_REF and table in MARTS, source
    assert set(re.findall(r"`[^`]*`", code)) == {MARTS_REF}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "BOOL"),
        (7, "INT64"),
        (0.05, "FLOAT64"),
        (datetime(2026, 11, 24, 12, 0), "TIMESTAMP"),
        (date(2026, 11, 24), "DATE"),
        ("checkout_redesign", "STRING"),
    ],
)
def test_parameters_are_typed(value: Any, kind: str) -> None:
    param = query_parameter("p", value)
    assert (param.name, param.type_, param.value) == ("p", kind, value)


def test_an_unsupported_parameter_type_is_refused() -> None:
    with pytest.raises(TypeError, match="unsupported parameter type"):
        query_parameter("p", [1, 2])


def test_bad_identifiers_are_refused_before_any_query() -> None:
    with pytest.raises(ValueError, match="not a BigQuery identifier"):
        BigQueryWarehouse(BigQuerySettings(project="acme`; drop", dataset="kpi"))


# --- error mapping (pure) --------------------------------------------------------------

BYTES_LIMIT = {
    "reason": "bytesBilledLimitExceeded",
    "message": "Query exceeded limit for bytes billed: 123456789. 524288000 or higher required.",
}


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (concurrent.futures.TimeoutError(), WarehouseTimeout, "didn't answer within 1 s"),
        (requests.exceptions.ReadTimeout("read timed out"), WarehouseTimeout, "didn't answer"),
        (gexc.DeadlineExceeded("deadline"), WarehouseTimeout, "didn't answer"),
        (gexc.NotFound("Not found: Table x"), WarehouseNotBuilt, "dbt build --target bigquery"),
        (gexc.Forbidden("Access Denied"), WarehouseUnavailable, "BigQuery Job User"),
        (gexc.BadRequest("Syntax error"), WarehouseError, "rejected the query"),
        # The client maps the unknown reason to a 500; the reason still decides.
        (
            gexc.InternalServerError(BYTES_LIMIT["message"], errors=[BYTES_LIMIT]),
            WarehouseError,
            "KPI_BQ_MAX_BYTES_BILLED = 123,456,789 bytes",
        ),
        (gexc.ServiceUnavailable("backend"), WarehouseUnavailable, "unavailable right now"),
        (gexc.RetryError("gave up", cause=None), WarehouseUnavailable, "unavailable right now"),
        (requests.exceptions.ConnectionError("refused"), WarehouseUnavailable, "unavailable"),
        (auth_exc.DefaultCredentialsError("no ADC"), WarehouseUnavailable, "credentials"),
    ],
)
def test_errors_become_friendly_warehouse_errors(
    error: Exception, kind: type[WarehouseError], words: str
) -> None:
    friendly = friendly_error(error, SETTINGS)
    assert type(friendly) is kind
    assert words in str(friendly)
    assert str(error) not in str(friendly) or not str(error)  # no raw client text


# --- the real client against a scripted BigQuery REST double ---------------------------

Reply = tuple[int, dict[str, Any]]


class FakeBigQuery:
    """A loopback HTTP server: records each request, answers with ``script(method, path,
    body)``. Good enough for the calls ``BigQueryWarehouse.run`` makes (jobs.insert,
    jobs.get, getQueryResults)."""

    def __init__(self, script: Callable[[str, str, dict[str, Any] | None], Reply]) -> None:
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = urlsplit(self.path).path
                fake.requests.append((self.command, path, body))
                status, payload = script(self.command, path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inserts(self) -> list[dict[str, Any]]:
        return [
            body
            for method, path, body in self.requests
            if method == "POST" and path.endswith(f"/projects/{PROJECT}/jobs") and body
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class QuietHTTPServer(ThreadingHTTPServer):
    """A client that gave up (a timeout under test) hangs up before the late answer is
    written; that broken pipe is expected, so it isn't printed as a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def http_error(status: int, reason: str, message: str) -> Reply:
    return status, {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }


def failed_job(body: dict[str, Any] | None, error: dict[str, str]) -> Reply:
    """A jobs.insert answer for a job that was accepted and then failed (status DONE)."""
    reference = {**(body or {}).get("jobReference", {}), "location": "US"}
    return 200, {
        "kind": "bigquery#job",
        "id": f"{PROJECT}:US.{reference.get('jobId', 'job')}",
        "jobReference": reference,
        "configuration": (body or {}).get("configuration", {}),
        "status": {"state": "DONE", "errorResult": error, "errors": [error]},
    }


def client_for(endpoint: str) -> bigquery.Client:
    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        location="US",
        client_options=ClientOptions(api_endpoint=endpoint),
    )


@pytest.fixture
def fake_bigquery() -> Iterator[Callable[..., FakeBigQuery]]:
    started: list[FakeBigQuery] = []

    def start(script: Callable[[str, str, dict[str, Any] | None], Reply]) -> FakeBigQuery:
        fake = FakeBigQuery(script)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()


def warehouse_on(endpoint: str) -> BigQueryWarehouse:
    return BigQueryWarehouse(SETTINGS, client=client_for(endpoint))


def test_the_request_on_the_wire_carries_the_guards(fake_bigquery) -> None:
    fake = fake_bigquery(lambda method, path, body: failed_job(body, BYTES_LIMIT))
    warehouse = warehouse_on(fake.endpoint)
    with pytest.raises(WarehouseError, match="KPI_BQ_MAX_BYTES_BILLED") as caught:
        warehouse.run("revenue_daily", params_for("revenue_daily"))
    assert type(caught.value) is WarehouseError
    (insert,) = fake.inserts()  # exactly one job: a failed job is never re-run
    query = insert["configuration"]["query"]
    assert int(query["maximumBytesBilled"]) == SETTINGS.maximum_bytes_billed
    assert insert["configuration"]["labels"] == {**JOB_LABELS, "query": "revenue-daily"}
    assert query["parameterMode"] == "NAMED"
    assert query["useLegacySql"] is False
    assert query["defaultDataset"] == {"projectId": PROJECT, "datasetId": "kpi_marts"}
    sent = {
        p["name"]: (p["parameterType"]["type"], p["parameterValue"]["value"])
        for p in query["queryParameters"]
    }
    assert sent == {"start_day": ("DATE", "2026-10-01"), "end_day": ("DATE", "2026-10-31")}
    assert "2026-10-01" not in query["query"]  # values travel only as parameters
    warehouse.close()


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (
            http_error(403, "accessDenied", "Access Denied: User lacks bigquery.jobs.create"),
            WarehouseUnavailable,
            "BigQuery Job User",
        ),
        (
            http_error(
                404, "notFound", "Not found: Table acme-analytics:kpi_marts.retention_weekly"
            ),
            WarehouseNotBuilt,
            "aren't in acme-analytics.kpi_marts yet",
        ),
        (
            http_error(400, "invalidQuery", "Unrecognized name: cohort_week"),
            WarehouseError,
            "rejected the query",
        ),
    ],
)
def test_http_errors_from_bigquery_become_friendly_answers(
    fake_bigquery, reply: Reply, kind: type[WarehouseError], words: str
) -> None:
    fake = fake_bigquery(lambda method, path, body: reply)
    warehouse = warehouse_on(fake.endpoint)
    with pytest.raises(WarehouseError) as caught:
        warehouse.run("retention")
    assert type(caught.value) is kind and words in str(caught.value)
    answer = KpiService(MartReader(warehouse)).ask("retention")
    assert isinstance(answer, ErrorAnswer) and answer.kind == "warehouse"
    assert words in answer.message
    warehouse.close()


def test_a_failing_backend_is_retried_then_reported_unavailable(fake_bigquery) -> None:
    fake = fake_bigquery(lambda method, path, body: http_error(503, "backendError", "Backend"))
    warehouse = warehouse_on(fake.endpoint)
    with pytest.raises(WarehouseUnavailable, match="unavailable right now"):
        warehouse.run("retention")
    assert len(fake.requests) >= 2  # retried, and stopped by the deadline (job_timeout_s)
    warehouse.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a BigQuery that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    join_or_fail(thread, 5)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_silent_bigquery_is_a_timeout(silent_server: str) -> None:
    warehouse = warehouse_on(silent_server)
    with pytest.raises(WarehouseTimeout, match="didn't answer within 1 s"):
        warehouse.run("retention")
    answer = KpiService(MartReader(warehouse)).ask("retention")
    assert isinstance(answer, ErrorAnswer) and "didn't answer" in answer.message
    warehouse.close()


def test_a_closed_port_is_unavailable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again when the block ends
    warehouse = warehouse_on(f"http://127.0.0.1:{port}")
    with pytest.raises(WarehouseUnavailable, match="unavailable right now"):
        warehouse.run("retention")
    warehouse.close()


def test_missing_credentials_are_named_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # A key file that isn't there: google.auth fails at once, before any network call.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/kpi-bot-key.json")
    warehouse = BigQueryWarehouse(SETTINGS)  # the client is created lazily, on first use
    with pytest.raises(WarehouseUnavailable, match="credentials"):
        warehouse.run("retention")
    answer = KpiService(MartReader(warehouse)).ask("retention")
    assert isinstance(answer, ErrorAnswer) and "GOOGLE_APPLICATION_CREDENTIALS" in answer.message
