"""The digest scheduler when ``KPI_STATE_DB`` can't be written at the time a digest is due.

Real APScheduler, real job store and ledger, on SQLite (another writer holding the
database's write lock with ``BEGIN IMMEDIATE``) and on PostgreSQL (the database set to
``default_transaction_read_only``, sessions restarted as a failover would), under a
frozen, ticking clock. Before the fix, APScheduler's failed ``update_job`` ended its
thread: once the database was writable again no digest ever came, nothing was
recorded, and ``/healthz`` said ok.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.digest.content import DigestContent
from bot.digest.runtime import DigestScheduler
from bot.digest.schedule import DigestPeriod, naive_utc
from bot.digest.service import DigestService
from bot.digest.store import FAILED, SENT, DigestStore
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.slack.server import make_http_server, stop_http_server
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.digest_support import cached_content
from tests.slack_double import SlackDouble

BERLIN = ZoneInfo("Europe/Berlin")
TOKEN = "xoxb-test-state-db-faults"
CHANNEL = "C0DIGEST"
AS_OF = DEMO_END + timedelta(days=1)  # a Wednesday
CRON = "0 9 * * wed"
FIRE = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0, tzinfo=BERLIN)
PERIOD, NEXT_PERIOD = "2026-11-16", "2026-11-23"
GRACE_S = 4  # short, so the outage outlasts it and the digest is really missed


@pytest.fixture(scope="module")
def content_for(built_db: Path) -> Iterator[Callable[[DigestPeriod], DigestContent]]:
    kpi = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)),
        timezone=BERLIN,
        clock=lambda: naive_utc(FIRE),
    )
    yield cached_content(kpi)
    kpi.reader.warehouse.close()


def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        # The production engine waits 30 s for a locked SQLite; half a second keeps the
        # test short and fails the same way.
        return create_engine(url, connect_args={"timeout": 0.5})
    return state_engine(url)


@contextmanager
def unwritable(url: str, request: pytest.FixtureRequest) -> Iterator[None]:
    if url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    name = make_url(url).database
    admin = create_engine(request.getfixturevalue("postgres").url(), isolation_level="AUTOCOMMIT")

    def set_read_only(on: bool) -> None:
        with admin.connect() as conn:
            setting = "SET default_transaction_read_only = on" if on else "RESET ALL"
            conn.execute(text(f'ALTER DATABASE "{name}" {setting}'))  # our own test database
            # The setting applies to new sessions: end the bot's, as a failover would.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )

    set_read_only(True)
    try:
        yield
    finally:
        set_read_only(False)
        admin.dispose()


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


@contextmanager
def health_server(scheduler: DigestScheduler) -> Iterator[int]:
    """The production ``/healthz`` with the scheduler check (no Slack endpoint)."""
    server = make_http_server(
        None,  # type: ignore[arg-type]  # serve_events=False: no Bolt app needed
        "127.0.0.1",
        0,
        serve_events=False,
        checks={"scheduler": scheduler.problem},
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop_http_server(server)
        thread.join(timeout=5)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def posts(slack: SlackDouble) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == CHANNEL]


def test_an_unwritable_state_db_at_fire_time_is_survived_recorded_and_reported(
    state_db_url: str, request: pytest.FixtureRequest, slack: SlackDouble, content_for
) -> None:
    engine = engine_for(state_db_url)
    store = DigestStore(engine)
    service = DigestService(
        None,  # type: ignore[arg-type]  # content comes from content_for
        store,
        SlackSender(message_client(TOKEN, slack.base_url)),
        timezone=BERLIN,
        cron=CRON,
        grace_hours=GRACE_S / 3600,
        content_builder=content_for,
    )
    store.seed([CHANNEL], naive_utc(datetime.now(UTC)))
    with time_machine.travel(FIRE - timedelta(seconds=2), tick=True) as traveller:
        scheduler = DigestScheduler(service, engine, GRACE_S / 3600, retry_s=1).start(
            catch_up=False
        )
        try:
            with health_server(scheduler) as port:
                assert health(port) == (200, {"ok": True})
                with unwritable(state_db_url, request):
                    wait_until(lambda: scheduler.problem() is not None, 30, "the failure")
                    status, body = health(port)
                    assert status == 503 and set(body["unhealthy"]) == {"scheduler"}
                    assert body["unhealthy"]["scheduler"] in {
                        "job_store_error",  # a write failed (read-only, locked)
                        "job_store_unreadable",  # PostgreSQL: the ended sessions
                        "digest_failed_unrecorded",
                    }
                    # The outage outlasts the grace period: this digest is missed.
                    wait_until(
                        lambda: datetime.now(UTC) > FIRE + timedelta(seconds=GRACE_S + 2),
                        30,
                        "the grace period to pass",
                    )
                    assert health(port)[0] == 503
                # Writable again: the scheduler resumes and records the miss.
                wait_until(lambda: scheduler.problem() is None, 30, "recovery")
                assert health(port) == (200, {"ok": True})
                row = store.delivery(CHANNEL, PERIOD)
                assert row is not None and row.status == FAILED and row.ts is None
                assert row.due_at == naive_utc(FIRE)
                assert scheduler.next_run_time() == FIRE + timedelta(days=7)
                assert posts(slack) == []

                # The next week's digest goes out on time and reports the missed one.
                traveller.move_to(FIRE + timedelta(days=7, seconds=-2))
                scheduler.scheduler.wakeup()
                [message] = slack.wait_for(lambda: posts(slack), timeout=60)
                assert "A digest was missed" in message.all_text
                assert "Nov 16, 2026" in message.all_text
                wait_until(
                    lambda: getattr(store.delivery(CHANNEL, NEXT_PERIOD), "status", "") == SENT,
                    30,
                    "the charts and the sent mark",
                )
                assert not store.delivery(CHANNEL, NEXT_PERIOD).late  # type: ignore[union-attr]
                missed = store.delivery(CHANNEL, PERIOD)
                assert missed is not None and missed.reported_in == NEXT_PERIOD
                assert health(port) == (200, {"ok": True})
        finally:
            scheduler.shutdown(wait=True)
    time.sleep(0.5)
    assert len(posts(slack)) == 1


def test_a_state_db_back_within_the_grace_period_still_sends_that_digest_once(
    state_db_url: str, request: pytest.FixtureRequest, slack: SlackDouble, content_for
) -> None:
    engine = engine_for(state_db_url)
    store = DigestStore(engine)
    service = DigestService(
        None,  # type: ignore[arg-type]  # content comes from content_for
        store,
        SlackSender(message_client(TOKEN, slack.base_url)),
        timezone=BERLIN,
        cron=CRON,
        grace_hours=1,
        content_builder=content_for,
    )
    store.seed([CHANNEL], naive_utc(datetime.now(UTC)))
    with time_machine.travel(FIRE - timedelta(seconds=2), tick=True):
        scheduler = DigestScheduler(service, engine, 1, retry_s=1).start(catch_up=False)
        try:
            with unwritable(state_db_url, request):
                wait_until(lambda: scheduler.problem() is not None, 30, "the failure")
                time.sleep(1.5)
                assert posts(slack) == []
            # Writable again within the hour of grace: the still-due job runs again.
            [message] = slack.wait_for(lambda: posts(slack), timeout=60)
            assert "Nov 16 – 22, 2026" in message.all_text
            wait_until(
                lambda: getattr(store.delivery(CHANNEL, PERIOD), "status", "") == SENT,
                30,
                "the sent mark",
            )
            wait_until(lambda: scheduler.problem() is None, 30, "recovery")
            assert scheduler.next_run_time() == FIRE + timedelta(days=7)
            time.sleep(1.5)  # a retried round must not post it again
        finally:
            scheduler.shutdown(wait=True)
    assert len(posts(slack)) == 1
    assert store.unreported_failures(CHANNEL, NEXT_PERIOD) == []
