"""Warehouse faults → a clear reply, the bot stays up, and it answers once the fault clears.

Real DuckDB files throughout: a missing file, one deleted under a running bot, a writer
in another process holding DuckDB's lock, a corrupt or unbuilt file swapped in, files
swapped (``os.replace``, as ``python -m bot build`` does) while queries run, and a query
past the time limit. The lock case also goes end to end over Slack (signed command →
waitress → Bolt → the Slack double), where the reply must be a private, friendly one.

BigQuery errors and timeouts are covered by the BigQuery adapter's own tests
(``tests/test_bigquery_adapter.py``: 5xx retried then "unavailable", a silent server →
timeout, a closed port, missing credentials, each a friendly ``ErrorAnswer``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest

from benchmarks.load import SECRET, running_bot
from bot.answers import ErrorAnswer, ExperimentAnswer, RetentionAnswer, RevenueAnswer
from bot.core.questions import RetentionQuestion
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import post_signed, signed_headers, slash_command_body
from tests.threads import join_or_fail

CLOCK = datetime.combine(DEMO_END + timedelta(days=1), datetime.min.time()) + timedelta(hours=8)
ROOT = Path(__file__).resolve().parents[1]


def service_on(path: Path, timeout_s: float = 30.0) -> KpiService:
    return KpiService(MartReader(DuckDBWarehouse(path, timeout_s=timeout_s)), clock=lambda: CLOCK)


def assert_warehouse_error(answer: Any, *fragments: str) -> None:
    assert isinstance(answer, ErrorAnswer), type(answer).__name__
    assert answer.kind == "warehouse", answer.kind
    for fragment in fragments:
        assert fragment in answer.message, answer.message
    assert "Traceback" not in answer.message and "Error(" not in answer.message


def swap_in(source: Path, live: Path) -> None:
    """What a rebuild does: a complete file beside the live one, then an atomic rename."""
    staging = live.with_name(f".{live.name}.{time.monotonic_ns()}.tmp")
    shutil.copyfile(source, staging)
    os.replace(staging, live)


@pytest.fixture
def live(built_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "live" / built_db.name  # same stem: the catalog the views name
    path.parent.mkdir()
    shutil.copyfile(built_db, path)
    return path


# --------------------------------------------------------------------------- missing, broken


def test_missing_file_then_deleted_under_a_running_bot_then_restored(
    built_db: Path, live: Path
) -> None:
    live.unlink()
    kpi = service_on(live)
    try:
        assert_warehouse_error(kpi.ask("revenue last 7 days"), "warehouse file is missing")

        swap_in(built_db, live)
        assert isinstance(kpi.ask("revenue last 7 days"), RevenueAnswer)

        live.unlink()  # deleted while the bot holds a connection to it
        assert_warehouse_error(kpi.ask("ab checkout_redesign"), "warehouse file is missing")
        assert_warehouse_error(kpi.ask("retention"), "details in its log")

        swap_in(built_db, live)
        assert isinstance(kpi.ask("ab checkout_redesign"), ExperimentAnswer)
        assert isinstance(kpi.ask("retention"), RetentionAnswer)
    finally:
        kpi.reader.warehouse.close()


def test_a_corrupt_or_unbuilt_file_swapped_in_is_explained_and_recovered_from(
    built_db: Path, live: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"this is not a duckdb file" * 1000)
    unbuilt = tmp_path / "unbuilt.duckdb"
    duckdb.connect(str(unbuilt)).close()  # a valid, empty database: no marts
    kpi = service_on(live)
    try:
        assert isinstance(kpi.ask("revenue last 7 days"), RevenueAnswer)

        swap_in(corrupt, live)
        assert_warehouse_error(kpi.ask("revenue last 7 days"), "couldn't be opened")

        swap_in(unbuilt, live)
        assert_warehouse_error(kpi.ask("revenue last 7 days"), "aren't built yet", "bot build")

        swap_in(built_db, live)
        assert isinstance(kpi.ask("revenue last 7 days"), RevenueAnswer)
    finally:
        kpi.reader.warehouse.close()


# --------------------------------------------------------------------------- locked


@contextmanager
def writer_holding(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with a read-write DuckDB connection open on ``path`` (DuckDB's
    cross-process lock); released when the block ends."""
    code = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('holding', flush=True)\n"
        "sys.stdin.readline()\n"
        "con.close()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        line = process.stdout.readline()
        assert line.strip() == "holding", process.stderr.read() if process.stderr else line
        yield process
    finally:
        if process.stdin is not None:
            process.stdin.write("\n")
            process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_a_writer_holding_the_lock_is_a_private_friendly_reply_over_slack(live: Path) -> None:
    with SlackDouble() as slack, running_bot(live, slack) as url:

        def command(text: str, name: str) -> None:
            body = slash_command_body(
                text, response_url=slack.response_url(name), trigger_id=f"9.{name}"
            )
            assert post_signed(url, body, signed_headers(SECRET, body)) == (200, "")

        with writer_holding(live):
            command("revenue last 30 days", "locked")
            [reply] = slack.wait_for(
                lambda: [
                    m for m in slack.messages(RESPONSE_URL) if m.response_url_name == "locked"
                ],
                timeout=30,
            )
            command("retention", "locked-again")  # still locked: still a clear reply
            [again] = slack.wait_for(
                lambda: [
                    m for m in slack.messages(RESPONSE_URL) if m.response_url_name == "locked-again"
                ],
                timeout=30,
            )
        assert reply.ephemeral and again.ephemeral
        for message in (reply, again):
            assert "locked by another process" in message.all_text
            assert "Try again in a minute" in message.all_text
            assert "Traceback" not in message.all_text and "IOException" not in message.all_text
        assert slack.messages("chat.postMessage") == []

        command("revenue last 30 days", "after")  # the writer is gone: a normal answer
        [posted] = slack.wait_for(lambda: slack.messages("chat.postMessage"), timeout=30)
        slack.wait_for(lambda: slack.uploads(), timeout=30)
        assert any(b["type"] == "header" and "Revenue" in b["text"]["text"] for b in posted.blocks)
        assert [m.response_url_name for m in slack.messages(RESPONSE_URL)] == [
            "locked",
            "locked-again",
        ]
        assert slack.errors == []


# --------------------------------------------------------------------------- swapped mid-query


def slow_copy(built_db: Path, path: Path, rows: int = 1_000_000_000) -> Path:
    """A copy whose retention mart answers slowly and keeps only the latest cohort, so a
    result shows which file it came from."""
    shutil.copyfile(built_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("alter table main.retention_weekly rename to retention_weekly_real")
        con.execute(
            "create view main.retention_weekly as select r.* from main.retention_weekly_real r "
            "where r.cohort_week = (select max(cohort_week) from main.retention_weekly_real) "
            f"and (select count(*) from range({rows}) t where t.range % 7 = 8) = 0"
        )
    return path


class Entered:
    """A ``Warehouse`` wrapper that tells when a named query has been handed over."""

    def __init__(self, inner: DuckDBWarehouse, name: str) -> None:
        self.inner, self.engine, self.name = inner, inner.engine, name
        self.entered = threading.Event()

    def run(self, name: str, params: dict[str, Any] | None = None) -> Any:
        if name == self.name:
            self.entered.set()
        return self.inner.run(name, params)

    def close(self) -> None:
        self.inner.close()


def test_a_query_in_flight_finishes_on_its_file_through_two_swaps(
    built_db: Path, live: Path, tmp_path: Path
) -> None:
    slow_copy(built_db, live)
    full = MartReader(DuckDBWarehouse(built_db)).retention()
    warehouse = Entered(DuckDBWarehouse(live, timeout_s=120.0), "retention")
    reader = MartReader(warehouse)
    try:
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(reader.retention)
            assert warehouse.entered.wait(30)
            time.sleep(0.3)  # let it reach DuckDB; if not, the row count below says so
            swaps = []
            for _ in range(2):  # the second swap used to close the first file's connection
                swap_in(built_db, live)
                swaps.append(reader.data_status().last_day)  # a query on the new file
                assert not in_flight.done()
            slow = in_flight.result(timeout=120)
        latest = [w for w in full["cohort_week"] if w == max(full["cohort_week"])]
        assert len(slow) == len(latest) < len(full)  # it finished, on the file it started on
        assert swaps == [DEMO_END, DEMO_END]
        assert len(reader.retention()) == len(full)  # and now reads the swapped-in file
    finally:
        warehouse.close()


def test_a_swap_storm_under_concurrent_questions_fails_no_query(built_db: Path, live: Path) -> None:
    """Four threads query while the file is replaced again and again; every query
    succeeds with the same figures."""
    warehouse = DuckDBWarehouse(live, timeout_s=60.0)
    reader = MartReader(warehouse)
    month = (DEMO_END - timedelta(days=29), DEMO_END)
    asks = {
        "status": reader.data_status,
        "experiments": reader.experiments,
        "retention": lambda: len(reader.retention()),
        "revenue": lambda: float(sum(reader.revenue_daily(*month)["revenue"])),
    }
    expected = {kind: ask() for kind, ask in asks.items()}
    stop = threading.Event()
    failures: list[str] = []
    done: Counter[str] = Counter()

    def ask_until_stopped(kind: str) -> None:
        while not stop.is_set():
            try:
                got = asks[kind]()
                if got != expected[kind]:
                    failures.append(f"{kind}: {got!r}")
            except Exception as err:  # any failure at all counts
                failures.append(f"{kind}: {type(err).__name__}: {err}")
            done[kind] += 1

    threads = [threading.Thread(target=ask_until_stopped, args=(k,)) for k in asks]
    for t in threads:
        t.start()
    swaps = 0
    try:
        while (min(done.values(), default=0) < 25 or swaps < 50) and swaps < 5000:
            swap_in(built_db, live)
            swaps += 1
    finally:
        stop.set()
        join_or_fail(threads, 60)
        warehouse.close()
    assert failures == []
    assert swaps >= 50 and min(done[k] for k in asks) >= 25, (swaps, done)


# --------------------------------------------------------------------------- timeout


def test_a_stuck_query_times_out_without_blocking_other_questions(
    built_db: Path, live: Path
) -> None:
    slow_copy(built_db, live, rows=10**13)  # would run for hours
    kpi = service_on(live, timeout_s=8.0)
    try:
        with ThreadPoolExecutor(1) as pool:
            stuck = pool.submit(kpi.answer, RetentionQuestion(12))
            # Meanwhile other questions are answered normally: the stuck query holds no
            # lock the others need.
            assert isinstance(kpi.ask("revenue last 7 days"), RevenueAnswer)
            assert isinstance(kpi.ask("ab checkout_redesign"), ExperimentAnswer)
            assert not stuck.done()
            answer = stuck.result(timeout=120)
        assert_warehouse_error(answer, "took longer than 8 s and was stopped")

        swap_in(built_db, live)  # the fault clears: a fixed mart is deployed
        assert isinstance(kpi.ask("retention"), RetentionAnswer)
    finally:
        kpi.reader.warehouse.close()


# --------------------------------------------------------------------------- BigQuery recovery


class ScriptedBigQuery:
    """BigQuery's REST API as the real client sees it, in three moods: ``down`` (503
    backendError on everything), ``hung`` (answers only after the client gave up) and
    ``up`` (jobs run and return rows for the ``data_status`` and ``experiments``
    queries). Served by the BigQuery adapter tests' loopback ``FakeBigQuery``."""

    ROWS: ClassVar[dict[str, tuple[list[tuple[str, str]], list[list[str]]]]] = {
        "data_status": (
            [("first_day", "DATE"), ("last_day", "DATE"), ("data_as_of", "TIMESTAMP")],
            [
                ["2026-01-01", "2026-11-24", "1795478400000000"]
            ],  # µs since epoch: 2026-11-24 00:00 UTC
        ),
        "experiments": (
            [
                ("experiment_id", "STRING"),
                ("variants", "INTEGER"),
                ("users", "INTEGER"),
                ("excluded_users", "INTEGER"),
                ("first_assigned_at", "TIMESTAMP"),
                ("last_assigned_at", "TIMESTAMP"),
            ],
            [["bq_only_experiment", "2", "1000", "3", "1790000000000000", "1795000000000000"]],
        ),
    }

    def __init__(self, project: str) -> None:
        self.project = project
        self.mood = "down"
        self.jobs: dict[str, tuple[str, dict[str, Any]]] = {}

    def __call__(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        from tests.test_bigquery_adapter import http_error

        if self.mood == "down":
            return http_error(503, "backendError", "Backend error")
        if self.mood == "hung":
            time.sleep(3)  # the adapter's job_timeout_s is 1 s in these settings
            return http_error(503, "backendError", "Backend error")
        if method == "POST" and path.endswith("/jobs") and body:
            sql = body["configuration"]["query"]["query"]
            name = "data_status" if "first_day" in sql else "experiments"
            ref = {**body["jobReference"], "location": "US"}
            self.jobs[ref["jobId"]] = (name, ref)
            return 200, self._job(ref, body["configuration"])
        name, ref = self.jobs[path.rsplit("/", 1)[-1]]
        if "/queries/" in path:
            fields, rows = self.ROWS[name]
            return 200, {
                "kind": "bigquery#getQueryResultsResponse",
                "jobReference": ref,
                "jobComplete": True,
                "schema": {"fields": [{"name": n, "type": t} for n, t in fields]},
                "rows": [{"f": [{"v": v} for v in row]} for row in rows],
                "totalRows": str(len(rows)),
            }
        return 200, self._job(ref, {"query": {"query": ""}})

    def _job(self, ref: dict[str, Any], configuration: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "bigquery#job",
            "id": f"{self.project}:US.{ref['jobId']}",
            "jobReference": ref,
            "configuration": configuration,
            "status": {"state": "DONE"},
            "statistics": {"query": {"totalBytesProcessed": "1", "totalBytesBilled": "0"}},
        }


def test_bigquery_down_then_hung_then_back_the_same_service_answers_again() -> None:
    from bot.answers import ExperimentListAnswer
    from bot.warehouse.bigquery_adapter import BigQueryWarehouse
    from tests.test_bigquery_adapter import PROJECT, SETTINGS, FakeBigQuery, client_for

    script = ScriptedBigQuery(PROJECT)
    fake = FakeBigQuery(script)
    warehouse = BigQueryWarehouse(SETTINGS, client=client_for(fake.endpoint))
    kpi = KpiService(MartReader(warehouse), clock=lambda: CLOCK)
    try:
        assert_warehouse_error(kpi.ask("ab"), "BigQuery is unavailable right now")
        script.mood = "hung"
        assert_warehouse_error(kpi.ask("ab"), "didn't answer within 1 s")
        script.mood = "up"
        answer = kpi.ask("ab")
        assert isinstance(answer, ExperimentListAnswer)
        assert [e.experiment_id for e in answer.experiments] == ["bq_only_experiment"]
        assert answer.freshness.data_as_of == datetime(2026, 11, 24)
    finally:
        warehouse.close()
        fake.close()
