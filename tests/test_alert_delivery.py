"""Alerts end to end: rules in ``KPI_STATE_DB``, evaluated on the built demo warehouse,
posted to the Slack double exactly once per (rule, data day) — on SQLite and on a real
PostgreSQL shared by "replicas" (each a new AlertService with its own engine).

Numbers are checked against the raw tables (``thelook.orders``/``order_items``), not
against the marts the service reads. The demo warehouse (3,000 users) keeps the
planted flash sale (``bot.demo_data.ANOMALIES``: ×2.6 on DEMO_END − 11) visible: that
Friday's revenue is about three times the Friday before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bot.access import Allowlists
from bot.alerts.service import AlertService
from bot.alerts.store import AlertStore, day_key
from bot.core import format as fmt
from bot.core.alerts import AlertRule, parse_rule
from bot.demo_data import planted_anomalies
from bot.digest.schedule import naive_utc
from bot.digest.service import RetryPolicy
from bot.digest.store import FAILED, SENT, DigestStore
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import SlackDouble
from tests.threads import join_or_fail

TOKEN = "xoxb-test-alerts"
CHANNEL, OTHER = "C0ALERTS", "C0OTHER"
USER, ADMIN, STRANGER = "U0CREATOR", "U0ADMIN", "U0STRANGER"
FLASH_SALE = planted_anomalies(DEMO_END)[1]  # 2026-11-13, a Friday: ×2.6 purchases
assert (DEMO_END - FLASH_SALE).days == 11
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # DEMO_END + 1: latest complete day DEMO_END


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rule(text: str) -> AlertRule:
    parsed = parse_rule(text.split())
    assert isinstance(parsed, AlertRule), parsed
    return parsed


@pytest.fixture(scope="module")
def raw(built_db: Path) -> dict[date, tuple[int, float]]:
    """Per UTC day (orders, revenue) from the raw tables (METRICS.md): Complete orders,
    the sale_price of their items."""
    with duckdb.connect(str(built_db), read_only=True) as con:
        rows = con.execute(
            """
            select cast(o.created_at as date) as day, count(distinct o.order_id),
                   coalesce(sum(i.sale_price), 0)
            from thelook.orders o left join thelook.order_items i on i.order_id = o.order_id
            where o.status = 'Complete'
            group by 1
            """
        ).fetchall()
    return {day: (int(n), float(r)) for day, n, r in rows}


@pytest.fixture(scope="module")
def kpi(built_db: Path) -> Iterator[KpiService]:
    service = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)), clock=lambda: naive_utc(NOW)
    )
    yield service
    service.reader.warehouse.close()


@pytest.fixture
def make(kpi, slack, state_db_url) -> Callable[..., AlertService]:
    """A new 'process': its own engine on the shared state DB and its own Slack client."""

    def factory(clock: Clock, **kwargs) -> AlertService:
        engine = state_engine(state_db_url)
        sender = SlackSender(message_client(TOKEN, slack.base_url))
        options = {"clock": clock, "sleep": lambda s: None, "charts": True} | kwargs
        return AlertService(kpi, AlertStore(engine), DigestStore(engine), sender, **options)

    return factory


def posts(slack: SlackDouble, channel: str = CHANNEL) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == channel]


# ------------------------------------------------------------------ rules fire (or not)


def test_rules_on_the_planted_flash_sale_match_the_raw_tables(make, slack, raw) -> None:
    service = make(Clock(NOW))
    as_of = FLASH_SALE + timedelta(days=1)  # the flash sale is the latest complete day
    orders, revenue = raw[FLASH_SALE]
    week_orders, week_revenue = raw[FLASH_SALE - timedelta(days=7)]
    assert revenue / week_revenue - 1 > 1.0  # the planted ×2.6 shows in the raw data

    fired = {}
    for text in ("revenue rises 100%", "orders rises 50%", "revenue above 1000"):
        created = service.create(CHANNEL, USER, rule(text), as_of=as_of)
        assert not isinstance(created, str), created
        stored, [outcome] = created
        assert stored.first_day == FLASH_SALE
        assert outcome.status == "sent" and outcome.day == FLASH_SALE, outcome
        fired[text] = outcome
    # A rule that must not fire: the flash sale is far above 100.
    stored, [quiet] = service.create(CHANNEL, USER, rule("revenue below 100"), as_of=as_of)
    assert quiet.status == "not_fired"

    messages = posts(slack)
    assert len(messages) == 3 and len(slack.uploads()) == 3
    rises = messages[0].all_text
    # "up 212.7 % from $477": the raw tables' numbers, formatted as the message does.
    assert fmt.money(revenue) in rises and fmt.money(week_revenue) in rises
    change = 100 * (revenue - week_revenue) / week_revenue  # written out, not via fmt
    assert f"up {change:.1f} % from" in rises and change > 100
    assert f"<@{USER}>" in rises and "revenue rises 100%" in rises and "data as of" in rises
    assert fmt.count(orders) in messages[1].all_text
    assert fmt.count(week_orders) in messages[1].all_text
    assert "above your threshold of $1,000" in messages[2].all_text
    for upload in slack.uploads():
        assert upload.data is not None and upload.data.startswith(b"\x89PNG")
    assert {u.thread_ts for u in slack.uploads()} == {m.ts for m in messages}
    row = service.ledger.delivery(CHANNEL, day_key(fired["revenue above 1000"].rule_id, FLASH_SALE))
    assert row is not None and row.status == SENT and row.charts_done == 1


def test_a_rule_fires_on_exactly_the_days_the_raw_tables_say(make, slack, raw) -> None:
    """`orders below 6` over 3 catch-up days: fires where the raw count is below 6."""
    clock = Clock(NOW)
    service = make(clock, catchup_days=3)
    stored = service.store.add(CHANNEL, rule("orders below 6"), USER, naive_utc(NOW), DEMO_END)
    # As if created three days ago, never evaluated since (the bot was down).
    service.store.engine.dispose()
    _set_first_day(service, stored.id, DEMO_END - timedelta(days=10))
    outcomes = service.check()
    days = [DEMO_END - timedelta(days=i) for i in (2, 1, 0)]  # catch-up: 3 days, not 10
    assert [o.day for o in outcomes] == days
    expected = [raw.get(d, (0, 0.0))[0] < 6 for d in days]
    assert [o.status == "sent" for o in outcomes] == expected
    assert [o.status for o in outcomes if o.status != "sent"] == ["not_fired"] * expected.count(
        False
    )
    assert len(posts(slack)) == sum(expected)
    assert service.store.get(stored.id).evaluated_through == DEMO_END
    assert service.check() == []  # nothing new to evaluate


def _set_first_day(service: AlertService, rule_id: int, first_day: date) -> None:
    from sqlalchemy import update

    from bot.alerts.store import rules

    with service.store.engine.begin() as conn:
        conn.execute(update(rules).where(rules.c.id == rule_id).values(first_day=first_day))


# ------------------------------------------------------------------ exactly once


def test_two_evaluators_at_once_post_each_alert_once(make, slack) -> None:
    clock = Clock(NOW)
    setup = make(clock)
    for text in ("orders above 0", "revenue above 0"):
        added = setup.store.add(CHANNEL, rule(text), USER, naive_utc(NOW), DEMO_END)
        _set_first_day(setup, added.id, DEMO_END - timedelta(days=2))
    replicas = [make(clock), make(clock)]
    barrier = threading.Barrier(2)
    outcomes: list = []

    def run(service: AlertService) -> None:
        barrier.wait()
        outcomes.extend(service.check())

    threads = [threading.Thread(target=run, args=(s,)) for s in replicas]
    for t in threads:
        t.start()
    join_or_fail(threads, 90)
    # 2 rules × 3 days (first day DEMO_END − 2), every day has orders: 6 alerts, once each.
    assert len(posts(slack)) == 6
    assert sorted(o.status for o in outcomes).count("sent") == 6
    # A third check (or a restart) posts nothing more.
    assert [o for o in make(clock).check() if o.status == "sent"] == []
    assert len(posts(slack)) == 6


def test_a_restart_between_evaluation_and_delivery_delivers_once(make, slack) -> None:
    clock = Clock(NOW)
    first = make(clock)
    stored = first.store.add(CHANNEL, rule("orders above 0"), USER, naive_utc(NOW), DEMO_END)
    key = day_key(stored.id, DEMO_END)
    # The first process evaluated the day, claimed its delivery, and died before posting.
    dead = first.ledger.claim(
        CHANNEL, key, now=naive_utc(NOW), lease=timedelta(minutes=10), owner="dead"
    )
    assert dead is not None
    first.store.engine.dispose()

    clock.now = NOW + timedelta(minutes=5)  # restarted while the lease is still live
    restarted = make(clock)
    [outcome] = restarted.check()
    assert outcome.status == "in_progress" and posts(slack) == []
    assert restarted.store.get(stored.id).evaluated_through is None  # not settled: kept

    clock.now = NOW + timedelta(minutes=11)  # the lease ran out: taken over, posted once
    [outcome] = make(clock).check()
    assert outcome.status == "sent"
    assert len(posts(slack)) == 1
    row = restarted.ledger.delivery(CHANNEL, key)
    assert row.status == SENT and row.attempts == 2 and row.owner != "dead"
    assert not restarted.ledger.mark_failed(dead, "zombie", True, naive_utc(clock.now))
    assert make(clock).check() == []
    assert len(posts(slack)) == 1


def test_a_restart_that_forgot_it_evaluated_does_not_post_again(make, slack) -> None:
    clock = Clock(NOW)
    service = make(clock)
    created = service.create(CHANNEL, USER, rule("orders above 0"))
    assert not isinstance(created, str) and created[1][0].status == "sent"
    # Lose the evaluation mark (as if the process died before writing it).
    from sqlalchemy import update

    from bot.alerts.store import rules

    with service.store.engine.begin() as conn:
        conn.execute(update(rules).values(evaluated_through=None))
    [again] = make(clock).check()
    assert again.status == "already_sent"
    assert len(posts(slack)) == 1


# ------------------------------------------------------------------ failures, retries


def test_a_failed_delivery_is_recorded_and_reported_with_the_next_alert(make, slack) -> None:
    clock = Clock(NOW - timedelta(days=1))
    service = make(clock)
    slack.fail_next("chat.postMessage", "not_in_channel")
    created = service.create(CHANNEL, USER, rule("orders above 0"), as_of=DEMO_END)
    assert not isinstance(created, str)
    stored, [failed] = created
    assert failed.status == "failed" and failed.error == "not_in_channel"
    failed_key = day_key(stored.id, DEMO_END - timedelta(days=1))
    assert service.ledger.delivery(CHANNEL, failed_key).status == FAILED
    assert service.store.get(stored.id).evaluated_through == DEMO_END - timedelta(days=1)

    clock.now = NOW  # the next day's alert goes through and reports the lost one
    [sent] = make(clock).check()
    assert sent.status == "sent"
    [message] = posts(slack)
    assert "1 earlier alert in this channel couldn't be delivered" in message.all_text
    assert failed_key in message.all_text and "not_in_channel" in message.all_text
    assert service.ledger.delivery(CHANNEL, failed_key).reported_in == sent.key


def test_server_errors_are_retried(make, slack) -> None:
    slack.server_error_next("chat.postMessage", status=503, times=2)
    sleeps: list[float] = []
    service = make(Clock(NOW), sleep=sleeps.append, retry=RetryPolicy(attempts=4))
    _, [outcome] = service.create(CHANNEL, USER, rule("orders above 0"))
    assert outcome.status == "sent"
    assert len(posts(slack)) == 1 and sleeps == [2.0, 4.0]


# ------------------------------------------------------------------ muting, deleting


def test_a_muted_rule_is_evaluated_but_not_posted_and_a_deleted_one_not_evaluated(
    make, slack
) -> None:
    clock = Clock(NOW - timedelta(days=1))
    service = make(clock, admins=frozenset({ADMIN}))
    muted, _ = service.create(CHANNEL, USER, rule("orders above 0"), as_of=DEMO_END)
    deleted, _ = service.create(CHANNEL, USER, rule("revenue above 0"), as_of=DEMO_END)
    assert len(posts(slack)) == 2

    assert "Muted alert" in service.mute(CHANNEL, muted.id, 2)
    assert "no alert" in service.mute(OTHER, muted.id, 2)  # another channel's id
    assert "Only the alert's creator" in service.delete(CHANNEL, STRANGER, deleted.id)
    assert "Deleted alert" in service.delete(CHANNEL, ADMIN, deleted.id)
    assert "no alert" in service.delete(CHANNEL, USER, deleted.id)

    clock.now = NOW
    outcomes = service.check()
    assert [(o.rule_id, o.status) for o in outcomes] == [(muted.id, "muted")]
    assert service.store.get(muted.id).evaluated_through == DEMO_END  # settled, not resent
    assert len(posts(slack)) == 2
    assert [r.id for r in service.rules(CHANNEL)] == [muted.id]


# ------------------------------------------------------------------ allowlists


def test_allowlists_refuse_revenue_alerts_at_creation_and_delivery(make, slack) -> None:
    clock = Clock(NOW)
    only_other = Allowlists(channels=frozenset({OTHER}))
    service = make(clock, allowlists=only_other)
    refused = service.create(CHANNEL, USER, rule("revenue above 0"))
    assert isinstance(refused, str) and "aren't shared" in refused
    assert isinstance(service.create(CHANNEL, USER, rule("aov above 0")), str)
    _, [orders] = service.create(CHANNEL, USER, rule("orders above 0"))  # not restricted
    assert orders.status == "sent"

    # A revenue rule created while the channel was allowed, delivered after it wasn't.
    open_service = make(clock)
    open_service.store.add(CHANNEL, rule("revenue above 0"), USER, naive_utc(NOW), DEMO_END)
    [outcome] = service.check()
    assert outcome.status == "not_allowed"
    assert len(posts(slack)) == 1  # only the orders alert


def test_anomaly_rule_agrees_with_the_digest_rule_on_raw_numbers(make, slack, raw) -> None:
    """`revenue anomaly` through the service (marts) vs ``check_day`` on the raw tables."""
    from bot.core.anomalies import check_day

    revenue = {d: r for d, (_, r) in raw.items()}
    day = min(revenue)
    while day <= DEMO_END:  # days inside the data without orders are zeros, as in the mart
        revenue.setdefault(day, 0.0)
        day += timedelta(days=1)
    flagged = [
        d
        for d in (DEMO_END - timedelta(days=i) for i in range(40))
        if check_day(revenue, d).is_anomaly
    ]
    assert flagged, "the demo data has unusual days in its last 40"
    day = flagged[0]
    reference = check_day(revenue, day)
    service = make(Clock(NOW))
    created = service.create(CHANNEL, USER, rule("revenue anomaly"), as_of=day + timedelta(days=1))
    assert not isinstance(created, str)
    _, [outcome] = created
    assert outcome.status == "sent"
    [message] = posts(slack)
    text = message.all_text
    assert f"unusually {reference.direction}" in text
    assert fmt.money(reference.value) in text
    assert fmt.money(reference.band.low) in text and fmt.money(reference.band.high) in text
    # The day before it (not flagged by the raw-table check) doesn't fire.
    quiet = next(d for d in (day - timedelta(days=i) for i in range(1, 8)) if d not in flagged)
    other = service.create(CHANNEL, USER, rule("revenue anomaly"), as_of=quiet + timedelta(days=1))
    assert not isinstance(other, str) and [o.status for o in other[1]] == ["not_fired"]


def test_a_crash_after_posting_finishes_the_chart_without_reposting(make, slack) -> None:
    clock = Clock(NOW)
    service = make(clock)
    stored = service.store.add(CHANNEL, rule("orders above 0"), USER, naive_utc(NOW), DEMO_END)
    key = day_key(stored.id, DEMO_END)
    crashed = service.ledger.claim(
        CHANNEL, key, now=naive_utc(NOW), lease=timedelta(minutes=10), owner="crashed"
    )
    # It posted the alert (Slack has it) and recorded the ts, then died before the chart.
    sent = SlackSender(message_client(TOKEN, slack.base_url)).post_blocks(
        CHANNEL, [{"type": "section", "text": {"type": "mrkdwn", "text": "alert"}}], "alert"
    )
    assert service.ledger.mark_posted(crashed, sent.ts, naive_utc(NOW))

    clock.now = NOW + timedelta(minutes=11)
    [outcome] = make(clock).check()
    assert outcome.status == "sent" and outcome.ts == sent.ts
    assert len(posts(slack)) == 1  # only the crashed process's post
    [upload] = slack.uploads()
    assert upload.thread_ts == sent.ts


def test_an_alerts_chart_is_drawn_by_the_services_renderer(kpi, make, slack) -> None:
    """In ``serve`` that renderer is the chart worker: the serving process imports no
    plotting library, alerts included. The PNG is the one drawing it here gives."""
    from bot.chart_workers import render_inline

    drawn: list[tuple[str, bytes]] = []

    def recording(chart, *args, **kwargs) -> bytes:
        png = render_inline(chart, *args, **kwargs)
        drawn.append((chart.__name__, png))
        return png

    before, kpi.render = kpi.render, recording
    try:
        service = make(Clock(NOW))
        created = service.create(
            CHANNEL, USER, rule("revenue above 1000"), as_of=FLASH_SALE + timedelta(days=1)
        )
        assert not isinstance(created, str), created
        assert [o.status for o in created[1]] == ["sent"]
    finally:
        kpi.render = before
    assert [name for name, _ in drawn] == ["alert_metric_chart"]
    [upload] = slack.uploads()
    assert upload.data == drawn[0][1] and upload.data.startswith(b"\x89PNG")
