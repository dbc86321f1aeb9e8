"""When the digest fires: the cron trigger across DST changes (UTC instants asserted),
the week each fire reports, and the real APScheduler BackgroundScheduler with its
SQLAlchemy job store on the shared SQLite state DB — two schedulers firing together,
a restart's catch-up inside and outside the grace period — under a frozen, ticking
clock (time-machine)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import MetaData, Table, select

from bot.digest.content import DigestContent
from bot.digest.runtime import JOB_ID, JOBS_TABLE, DigestScheduler, scheduled_digest
from bot.digest.schedule import (
    DigestPeriod,
    build_trigger,
    last_fire_time,
    naive_utc,
    next_fire_time,
    period_for_fire,
)
from bot.digest.service import DigestService
from bot.digest.store import SENT, DigestStore
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.settings import SettingsError
from bot.slack.dedupe import SharedSeenRequests
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.digest_support import cached_content
from tests.slack_double import SlackDouble
from tests.threads import join_or_fail

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKEN = "xoxb-test-schedule"
CHANNEL = "C0DIGEST"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------ trigger arithmetic


def fires(cron: str, tz: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    trigger = build_trigger(cron, tz)
    out = [next_fire_time(trigger, after)]
    while len(out) < count:
        out.append(trigger.get_next_fire_time(out[-1], out[-1]))
    return [f.astimezone(UTC) for f in out]


def test_monday_0900_berlin_across_the_autumn_dst_change() -> None:
    # Summer time (UTC+2) ends on Sunday 2026-10-25: 09:00 moves from 07:00 to 08:00 UTC.
    assert fires("0 9 * * mon", BERLIN, utc(2026, 10, 13), 3) == [
        utc(2026, 10, 19, 7),
        utc(2026, 10, 26, 8),
        utc(2026, 11, 2, 8),
    ]


def test_monday_0900_berlin_across_the_spring_dst_change() -> None:
    # Summer time starts on Sunday 2026-03-29.
    assert fires("0 9 * * mon", BERLIN, utc(2026, 3, 20), 2) == [
        utc(2026, 3, 23, 8),
        utc(2026, 3, 30, 7),
    ]


def test_monday_0900_new_york_across_the_us_dst_change() -> None:
    # EDT (UTC−4) ends on Sunday 2026-11-01.
    assert fires("0 9 * * mon", NEW_YORK, utc(2026, 10, 20), 2) == [
        utc(2026, 10, 26, 13),
        utc(2026, 11, 2, 14),
    ]


def test_the_repeated_hour_fires_twice_but_reports_one_week() -> None:
    """01:30 happens twice in New York on 2026-11-01; APScheduler fires at both, and
    both map to the same period, so the ledger lets only one through
    (test_digest_delivery.py::test_the_repeated_hour_posts_once)."""
    first, second = fires("30 1 * * sun", NEW_YORK, utc(2026, 10, 31), 2)
    assert (first, second) == (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30))
    assert period_for_fire(first, NEW_YORK).key == period_for_fire(second, NEW_YORK).key


def test_last_fire_time_looks_back_only_over_the_grace_period() -> None:
    trigger = build_trigger("0 9 * * mon", BERLIN)
    monday = utc(2026, 10, 26, 8)
    assert last_fire_time(trigger, monday, timedelta(hours=48)) == monday
    assert last_fire_time(trigger, monday - timedelta(seconds=1), timedelta(hours=48)) is None
    assert last_fire_time(trigger, monday + timedelta(hours=47), timedelta(hours=48)) == monday
    assert last_fire_time(trigger, monday + timedelta(hours=49), timedelta(hours=48)) is None


def test_a_fire_reports_the_last_complete_monday_to_sunday_week() -> None:
    period = period_for_fire(utc(2026, 10, 26, 8), BERLIN)
    assert period.as_of == date(2026, 10, 26)
    assert (period.week.start, period.week.end) == (date(2026, 10, 19), date(2026, 10, 25))
    assert period.key == "2026-10-19"
    # 23:30 UTC Sunday is already Monday in Berlin: the local date decides.
    late_sunday = period_for_fire(utc(2026, 10, 25, 23, 30), BERLIN)
    assert late_sunday.as_of == date(2026, 10, 26) and late_sunday.key == "2026-10-19"


def test_a_malformed_cron_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="KPI_DIGEST_CRON"):
        build_trigger("every monday", BERLIN)


# ------------------------------------------------------------------ the real scheduler

AS_OF = DEMO_END + timedelta(days=1)  # a Wednesday
CRON = "0 9 * * wed"
FIRE = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def content_for(built_db: Path) -> Iterator[Callable[[DigestPeriod], DigestContent]]:
    kpi = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)),
        timezone=BERLIN,
        clock=lambda: naive_utc(FIRE),
    )
    yield cached_content(kpi)
    kpi.reader.warehouse.close()


@pytest.fixture
def start_replica(
    state_db_url: str, slack: SlackDouble, content_for
) -> Iterator[Callable[..., DigestScheduler]]:
    """Start a 'replica': its own engine, service and BackgroundScheduler on one DB
    (SQLite, and PostgreSQL as shared by several replicas)."""
    url = state_db_url
    started: list[DigestScheduler] = []

    def start(catch_up: bool = True, cron: str = CRON) -> DigestScheduler:
        engine = state_engine(url)
        store = DigestStore(engine)
        service = DigestService(
            None,  # type: ignore[arg-type]  # content comes from content_for
            store,
            SlackSender(message_client(TOKEN, slack.base_url)),
            timezone=BERLIN,
            cron=cron,
            grace_hours=48,
            content_builder=content_for,
        )
        store.seed([CHANNEL], naive_utc(datetime.now(UTC)))
        scheduler = DigestScheduler(service, engine, grace_hours=48).start(catch_up=catch_up)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.scheduler.running:
            scheduler.shutdown(wait=True)


def posts(slack: SlackDouble) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == CHANNEL]


def settle(seconds: float = 1.5) -> None:
    """Give any other scheduler thread time to (wrongly) post a second message."""
    threading.Event().wait(seconds)


def test_two_schedulers_on_one_store_fire_at_0900_local_and_post_once(start_replica, slack) -> None:
    with time_machine.travel(FIRE - timedelta(seconds=2), tick=True):
        first, second = start_replica(), start_replica()
        assert first.next_run_time() == FIRE and second.next_run_time() == FIRE
        [message] = slack.wait_for(lambda: posts(slack), timeout=30)
        settle()
        assert len(posts(slack)) == 1
        row = first.service.store.delivery(CHANNEL, "2026-11-16")
        assert row is not None and row.status == SENT and not row.late
        assert row.due_at == naive_utc(FIRE)
        assert "Nov 16 – 22, 2026" in message.all_text
        # The job moved on to next Wednesday 09:00 Berlin (the one job, shared).
        slack.wait_for(lambda: first.next_run_time() == FIRE + timedelta(days=7), timeout=10)
        assert second.next_run_time() == FIRE + timedelta(days=7)


def test_replicas_starting_at_the_same_moment_all_come_up(start_replica, state_db_url) -> None:
    """Each creates the state tables if missing (job store, ledger, seen deliveries): on
    PostgreSQL an unguarded CREATE TABLE race made all but one fail (seen 10 of 10)."""
    barrier, errors = threading.Barrier(4), []

    def replica() -> None:
        barrier.wait()
        try:
            SharedSeenRequests(state_engine(state_db_url))
            start_replica(catch_up=False)
        except Exception as err:  # collected: the assertion below names it
            errors.append(f"{type(err).__name__}: {err}")

    with time_machine.travel(FIRE - timedelta(days=1), tick=True):
        threads = [threading.Thread(target=replica) for _ in range(4)]
        for thread in threads:
            thread.start()
        join_or_fail(threads, 60)
    assert errors == []


def test_the_job_lives_in_the_state_db_and_a_restart_replaces_it(start_replica) -> None:
    with time_machine.travel(FIRE - timedelta(days=1), tick=True):
        first = start_replica(catch_up=False)
        first.shutdown(wait=True)
        second = start_replica(catch_up=False, cron="0 8 * * wed")
        store = second.service.store
        with store.engine.connect() as conn:
            table = Table(JOBS_TABLE, MetaData(), autoload_with=conn)
            ids = [row.id for row in conn.execute(select(table.c.id))]
        assert ids == [JOB_ID]  # one job, replaced, not duplicated
        assert second.next_run_time() == FIRE - timedelta(hours=1)


def test_a_restart_within_grace_catches_up_once_saying_it_is_late(start_replica, slack) -> None:
    with time_machine.travel(FIRE + timedelta(hours=5), tick=True):  # down at 09:00
        first = start_replica()
        [message] = slack.wait_for(lambda: posts(slack), timeout=30)
        assert "This digest is late" in message.all_text
        first.shutdown(wait=True)
        start_replica()  # restarted again: the ledger says it's sent
        settle()
    assert len(posts(slack)) == 1


def test_a_restart_after_the_grace_period_sends_nothing(start_replica, slack) -> None:
    with time_machine.travel(FIRE + timedelta(hours=49), tick=True):
        scheduler = start_replica()
        settle(2.0)
        assert scheduler.next_run_time() == FIRE + timedelta(days=7)
    assert posts(slack) == []


def test_the_job_function_without_a_bound_service_does_nothing(slack, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.digest"):
        scheduled_digest()  # e.g. run by someone else's scheduler: logs, never raises
    assert slack.calls() == []
    assert [r.getMessage() for r in caplog.records if r.name == "bot.digest"] == [
        "weekly digest job ran on a thread without a digest service"
    ]
