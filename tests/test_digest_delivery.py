"""The digest's delivery: exactly once per (channel, week) through the ledger in one
SQLite state DB, catch-up within the grace period, retries, failures reported later.

Real parts: the content comes from the built demo warehouse through KpiService (cached
per week, it is the same for every test), posts go through SlackSender's real
WebClients over loopback HTTP to the Slack double, and every "replica" or "restart" is
a new DigestService with its own SQLAlchemy engine on the same SQLite file. The clock
is injected; the backoff sleep is recorded instead of slept (429 Retry-After waits are
the real client's and real).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.access import Allowlists
from bot.digest.content import DigestContent
from bot.digest.schedule import DigestPeriod, naive_utc
from bot.digest.service import DigestService, RetryPolicy
from bot.digest.store import FAILED, SENT, DigestStore
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.digest_support import cached_content
from tests.slack_double import SlackDouble
from tests.threads import join_or_fail

TOKEN = "xoxb-test-digest"
BERLIN = ZoneInfo("Europe/Berlin")
CRON = "0 9 * * wed"  # DEMO_END is a Tuesday: the Wednesday after is DEMO_END + 1
AS_OF = DEMO_END + timedelta(days=1)
FIRE = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0, tzinfo=BERLIN)  # 08:00 UTC
CHANNEL, OTHER = "C0DIGEST", "C0OTHER"
WEEK_KEY = "2026-11-16"  # Monday of the last complete week before AS_OF


class Clock:
    """An injectable aware-UTC clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def naive(self) -> datetime:
        return naive_utc(self.now)


@pytest.fixture(scope="module")
def kpi(built_db: Path) -> Iterator[KpiService]:
    service = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)),
        timezone=BERLIN,
        clock=lambda: naive_utc(FIRE),
    )
    yield service
    service.reader.warehouse.close()


@pytest.fixture(scope="module")
def content_for(kpi: KpiService) -> Callable[[DigestPeriod], DigestContent]:
    return cached_content(kpi)


@pytest.fixture
def state_url(state_db_url: str) -> str:
    return state_db_url  # SQLite, and PostgreSQL as shared by several replicas


@pytest.fixture
def make(kpi, content_for, slack, state_url) -> Callable[..., DigestService]:
    """A new 'process': its own engine on the shared state DB and its own clients."""

    def factory(clock: Clock, *, sleeps: list[float] | None = None, **kwargs) -> DigestService:
        store = DigestStore(state_engine(state_url))
        sender = SlackSender(message_client(TOKEN, slack.base_url))
        recorded = sleeps if sleeps is not None else []
        options = {
            "timezone": BERLIN,
            "cron": CRON,
            "grace_hours": 48.0,
            "clock": clock,
            "sleep": recorded.append,
            "content_builder": content_for,
        } | kwargs
        service = DigestService(kpi, store, sender, **options)
        store.seed([CHANNEL], clock.naive())
        return service

    return factory


def posts(slack: SlackDouble, channel: str = CHANNEL) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == channel]


def post_attempts(slack: SlackDouble) -> list:
    return slack.calls("chat.postMessage")


# ------------------------------------------------------------------ the happy path


def test_due_digest_is_posted_once_with_its_chart_in_the_thread(make, slack) -> None:
    service = make(Clock(FIRE + timedelta(seconds=3)))
    [outcome] = service.run_due()

    assert outcome.status == "sent" and outcome.period == WEEK_KEY and not outcome.late
    [message] = posts(slack)
    assert message.ts == outcome.ts
    assert "Weekly KPI digest · Nov 16 – 22, 2026" in message.all_text
    assert "late" not in message.all_text.lower()
    [upload] = slack.uploads()
    assert upload.thread_ts == message.ts and upload.channel == CHANNEL
    assert upload.data is not None and upload.data.startswith(b"\x89PNG")
    row = service.store.delivery(CHANNEL, WEEK_KEY)
    assert row is not None and row.status == SENT and row.ts == message.ts
    assert row.charts_done == 1 and row.attempts == 1 and row.due_at == naive_utc(FIRE)


def test_nothing_is_due_before_the_first_fire_within_grace(make, slack) -> None:
    service = make(Clock(FIRE - timedelta(minutes=1)))
    assert service.due_period() is None  # last Wednesday's fire is beyond the 48 h grace
    assert service.run_due() == []
    assert posts(slack) == []


# ------------------------------------------------------------------ exactly once


def test_two_replicas_firing_together_post_once(make, slack) -> None:
    clock = Clock(FIRE + timedelta(seconds=1))
    replicas = [make(clock), make(clock)]
    assert replicas[0].store.engine is not replicas[1].store.engine
    barrier = threading.Barrier(2)
    outcomes: list = []

    def fire(service: DigestService) -> None:
        barrier.wait()
        outcomes.extend(service.run_due())

    threads = [threading.Thread(target=fire, args=(s,)) for s in replicas]
    for t in threads:
        t.start()
    join_or_fail(threads, 60)

    assert len(posts(slack)) == 1
    assert len(slack.uploads()) == 1
    statuses = sorted(o.status for o in outcomes)
    assert statuses in (["in_progress", "sent"], ["already_sent", "sent"])


def test_a_restart_after_sending_does_not_send_again(make, slack) -> None:
    first = make(Clock(FIRE))
    assert [o.status for o in first.run_due()] == ["sent"]
    first.store.engine.dispose()  # the process ends

    restarted = make(Clock(FIRE + timedelta(hours=2)))
    assert [o.status for o in restarted.run_due()] == ["already_sent"]
    assert len(posts(slack)) == 1 and len(post_attempts(slack)) == 1


def test_a_claim_whose_process_died_is_retried_after_the_lease(make, slack) -> None:
    clock = Clock(FIRE)
    service = make(clock, lease=timedelta(minutes=10))
    dead = service.store.claim(
        CHANNEL, WEEK_KEY, now=clock.naive(), lease=timedelta(minutes=10), owner="dead-replica"
    )
    assert dead is not None  # claimed, then the process crashed before posting

    clock.now += timedelta(minutes=5)  # lease still live: someone may be sending
    assert [o.status for o in service.run_due()] == ["in_progress"]
    assert posts(slack) == []

    clock.now += timedelta(minutes=6)  # lease expired: the claim is taken over
    [outcome] = service.run_due()
    assert outcome.status == "sent" and outcome.resumed
    assert len(posts(slack)) == 1
    row = service.store.delivery(CHANNEL, WEEK_KEY)
    assert row is not None and row.status == SENT and row.attempts == 2
    assert row.owner != "dead-replica"
    # The dead owner can no longer write: its updates are fenced off.
    assert not service.store.mark_failed(dead, "zombie", True, clock.naive())
    assert service.store.delivery(CHANNEL, WEEK_KEY).status == SENT


def test_a_crash_after_posting_finishes_the_charts_without_reposting(make, slack) -> None:
    clock = Clock(FIRE)
    service = make(clock)
    crashed = service.store.claim(
        CHANNEL, WEEK_KEY, now=clock.naive(), lease=timedelta(minutes=10), owner="crashed"
    )
    assert crashed is not None
    # It posted the message (Slack has it) and recorded the ts, then died.
    sent = SlackSender(message_client(TOKEN, slack.base_url)).post_blocks(
        CHANNEL, [{"type": "section", "text": {"type": "mrkdwn", "text": "digest"}}], "digest"
    )
    assert service.store.mark_posted(crashed, sent.ts, clock.naive())

    clock.now += timedelta(minutes=11)
    [outcome] = service.run_due()
    assert outcome.status == "sent" and outcome.ts == sent.ts
    assert len(posts(slack)) == 1  # only the crashed process's post
    [upload] = slack.uploads()
    assert upload.thread_ts == sent.ts


def test_many_concurrent_takeovers_of_an_expired_claim_post_once(make, slack) -> None:
    clock = Clock(FIRE)
    services = [make(clock) for _ in range(4)]
    services[0].store.claim(
        CHANNEL, WEEK_KEY, now=clock.naive(), lease=timedelta(minutes=10), owner="dead"
    )
    clock.now += timedelta(minutes=30)
    barrier = threading.Barrier(len(services))
    results: list = []

    def go(service: DigestService) -> None:
        barrier.wait()
        results.extend(service.run_due())

    threads = [threading.Thread(target=go, args=(s,)) for s in services]
    for t in threads:
        t.start()
    join_or_fail(threads, 60)
    assert len(posts(slack)) == 1
    assert [r.status for r in results].count("sent") == 1


def test_the_repeated_hour_posts_once(make, slack) -> None:
    """01:30 on 2026-11-01 happens twice in New York and the trigger fires at both."""
    new_york = ZoneInfo("America/New_York")
    clock = Clock(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    service = make(clock, cron="30 1 * * sun", timezone=new_york)
    assert [o.status for o in service.run_due()] == ["sent"]
    clock.now = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    assert service.due_period().due_at.astimezone(UTC) == clock.now  # (PEP 495: compare in UTC)
    assert [o.status for o in service.run_due()] == ["already_sent"]
    assert len(posts(slack)) == 1


# ------------------------------------------------------------------ catch-up


def test_catch_up_within_grace_sends_once_and_says_it_is_late(make, slack) -> None:
    service = make(Clock(FIRE + timedelta(hours=5)))  # the bot was down at 09:00
    [outcome] = service.run_due()
    assert outcome.status == "sent" and outcome.late
    [message] = posts(slack)
    assert "This digest is late" in message.all_text
    assert "Wed Nov 25, 09:00 CET" in message.all_text  # due time in the local zone
    assert "(late)" in (message.text or "")
    assert service.store.delivery(CHANNEL, WEEK_KEY).late

    again = make(Clock(FIRE + timedelta(hours=6)))  # and another restart
    assert [o.status for o in again.run_due()] == ["already_sent"]
    assert len(posts(slack)) == 1


def test_outside_grace_the_missed_digest_is_not_sent(make, slack) -> None:
    service = make(Clock(FIRE + timedelta(hours=49)))  # grace is 48 h
    assert service.due_period() is None
    assert service.run_due() == []
    assert posts(slack) == []
    assert service.store.delivery(CHANNEL, WEEK_KEY) is None


# ------------------------------------------------------------------ retries and failures


def test_429_with_retry_after_then_success_posts_one_message(make, slack) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    sleeps: list[float] = []
    service = make(Clock(FIRE), sleeps=sleeps)
    [outcome] = service.run_due()

    assert outcome.status == "sent"
    assert len(posts(slack)) == 1
    limited, accepted = post_attempts(slack)
    assert limited.status == 429 and accepted.status == 200
    assert accepted.time - limited.time >= 0.9  # Retry-After: 1 was honoured
    assert sleeps == []  # the client's own 429 handler did it, no extra backoff


def test_transient_errors_back_off_and_then_succeed(make, slack) -> None:
    slack.fail_next("chat.postMessage", "internal_error", times=2)
    sleeps: list[float] = []
    service = make(Clock(FIRE), sleeps=sleeps)
    [outcome] = service.run_due()
    assert outcome.status == "sent"
    assert len(post_attempts(slack)) == 3 and len(posts(slack)) == 1
    assert sleeps == [2.0, 4.0]  # exponential backoff


def test_a_digest_that_finally_fails_is_recorded_and_reported_next_week(make, slack) -> None:
    slack.fail_next("chat.postMessage", "service_unavailable", times=None)
    sleeps: list[float] = []
    clock = Clock(FIRE)
    service = make(clock, sleeps=sleeps, retry=RetryPolicy(attempts=3))
    [outcome] = service.run_due()
    assert outcome.status == "failed" and outcome.error == "service_unavailable"
    assert len(post_attempts(slack)) == 3 and sleeps == [2.0, 4.0]
    row = service.store.delivery(CHANNEL, WEEK_KEY)
    assert row is not None and row.status == FAILED and row.retryable
    assert row.error == "service_unavailable" and row.reported_in is None

    slack.clear_faults()
    clock.now += timedelta(days=7)  # next Wednesday's digest
    [outcome] = service.run_due()
    assert outcome.status == "sent" and outcome.period == "2026-11-23"
    [message] = posts(slack)
    assert "A digest was missed" in message.all_text
    assert "week of Nov 16, 2026" in message.all_text and "service_unavailable" in message.all_text
    assert service.store.delivery(CHANNEL, WEEK_KEY).reported_in == "2026-11-23"

    clock.now += timedelta(days=7)  # reported once, not every week after
    service.run_due()
    third = posts(slack)[-1]
    assert len(posts(slack)) == 2 and "A digest was missed" not in third.all_text


def test_a_failed_digest_is_retried_by_a_restart_within_grace(make, slack) -> None:
    slack.fail_next("chat.postMessage", "internal_error", times=None)
    service = make(Clock(FIRE), retry=RetryPolicy(attempts=1))
    assert [o.status for o in service.run_due()] == ["failed"]
    slack.clear_faults()
    restarted = make(Clock(FIRE + timedelta(hours=1)))
    [outcome] = restarted.run_due()
    assert outcome.status == "sent" and outcome.resumed
    assert len(posts(slack)) == 1


def test_errors_that_waiting_cannot_fix_fail_at_once(make, slack) -> None:
    slack.add_channel(CHANNEL, is_member=False)
    sleeps: list[float] = []
    service = make(Clock(FIRE), sleeps=sleeps)
    [outcome] = service.run_due()
    assert outcome.status == "failed" and outcome.error == "not_in_channel"
    assert len(post_attempts(slack)) == 1 and sleeps == []
    row = service.store.delivery(CHANNEL, WEEK_KEY)
    assert row.status == FAILED and not row.retryable
    assert [o.status for o in make(Clock(FIRE + timedelta(hours=1))).run_due()] == ["failed"]
    assert len(post_attempts(slack)) == 1  # not retried on restart either


def test_a_lost_answer_is_not_reposted_blindly(make, slack) -> None:
    """Slack posted it but the answer never arrived (client timeout): reposting could
    duplicate it, so it is recorded as failed and reported, not retried."""
    slack.delay_next("chat.postMessage", seconds=3)
    service = make(Clock(FIRE))
    impatient = WebClient(
        token=TOKEN,
        base_url=slack.base_url,
        timeout=1,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )
    service.sender = SlackSender(impatient)
    [outcome] = service.run_due()
    assert outcome.status == "failed" and "may or may not" in (outcome.error or "")
    slack.wait_for(lambda: posts(slack))  # Slack did post it
    assert len(post_attempts(slack)) == 1 and len(posts(slack)) == 1
    assert not service.store.delivery(CHANNEL, WEEK_KEY).retryable


# ------------------------------------------------------------------ channels


def test_every_subscribed_channel_gets_its_own_single_digest(make, slack) -> None:
    clock = Clock(FIRE)
    service = make(clock)
    assert service.subscribe(OTHER, "U0ADMIN")
    assert not service.subscribe(OTHER, "U0ADMIN")  # already subscribed
    outcomes = service.run_due()
    assert sorted(o.channel for o in outcomes if o.status == "sent") == [CHANNEL, OTHER]
    assert len(posts(slack, CHANNEL)) == 1 and len(posts(slack, OTHER)) == 1
    assert {m.blocks == posts(slack)[0].blocks for m in posts(slack, OTHER)} == {True}


def test_unsubscribe_sticks_across_restarts_and_seeding(make, slack) -> None:
    service = make(Clock(FIRE - timedelta(days=1)))
    assert service.unsubscribe(CHANNEL, "U0ADMIN")
    assert not service.unsubscribe(CHANNEL, "U0ADMIN")
    restarted = make(Clock(FIRE))  # seeds CHANNEL from the environment again
    assert restarted.channels() == []
    assert restarted.run_due() == []
    assert posts(slack) == []


def test_the_allowlist_filters_subscribed_channels(make, slack) -> None:
    service = make(Clock(FIRE), allowlists=Allowlists(channels=frozenset({OTHER})))
    service.subscribe(OTHER, None)
    outcomes = service.run_due()
    assert [(o.channel, o.status) for o in outcomes] == [(OTHER, "sent")]
    assert posts(slack, CHANNEL) == []


# ------------------------------------------------------------------ preview


def test_preview_blocks_equal_the_posted_blocks(make, slack) -> None:
    clock = Clock(FIRE)
    service = make(clock)
    blocks, text = service.preview(CHANNEL)
    service.run_due()
    [message] = posts(slack)
    assert blocks == message.blocks
    assert text == f"Preview: {message.text}"
