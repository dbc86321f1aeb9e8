"""Alerts on any semantic-layer metric, with ``where <dimension> = <value>``: numbers
checked against the raw ``thelook`` tables (SQL written from shared/METRICS.md, never
the marts or MetricFlow's SQL), names and values validated with "did you mean",
restricted-ness from dbt's ``meta.restricted``, the button to the full answer parsed by
the bot's own parser, and a failed round named by ``/healthz``.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from bot.access import Allowlists
from bot.alerts.message import AlertContext, experiment_alert
from bot.alerts.service import DELIVERY_FAILED, WAREHOUSE_UNREADABLE, AlertService
from bot.alerts.store import AlertStore
from bot.core import format as fmt
from bot.core.alerts import AlertRule, full_answer_question, parse_rule
from bot.core.anomalies import check_day
from bot.core.metric_questions import MetricFilter, MetricQuestion, Vocabulary
from bot.core.questions import ExperimentQuestion, parse_question
from bot.core.windows import parse_window
from bot.digest.schedule import naive_utc
from bot.digest.store import DigestStore
from bot.render.buttons import ASK_ACTION as ASK_ACTION_ID
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.slack.health import report
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import SlackDouble
from tests.test_alert_delivery import CHANNEL, NOW, OTHER, USER, Clock, _set_first_day

TOKEN = "xoxb-test-alerts"
AS_OF = DEMO_END + timedelta(days=1)  # NOW's date: the latest complete day is DEMO_END


def rule(text: str) -> AlertRule:
    parsed = parse_rule(text.split())
    assert isinstance(parsed, AlertRule), parsed
    return parsed


@pytest.fixture(scope="module")
def raw(built_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(built_db), read_only=True)
    yield connection
    connection.close()


def per_day(raw: duckdb.DuckDBPyConnection, sql: str, *params) -> dict[date, float]:
    return {d: float(v) for d, v in raw.execute(sql, list(params)).fetchall()}


NEW_USERS = "select cast(created_at as date), count(*) from thelook.users group by 1"
SESSIONS_BY_BROWSER = """
    select cast(created_at as date), count(distinct session_id) from thelook.events
    where browser = ? group by 1
"""
ORDERS_BY_COUNTRY = """
    select cast(o.created_at as date), count(distinct o.order_id)
    from thelook.orders as o join thelook.users as u on u.id = o.user_id
    where o.status = 'Complete' and u.country = ? group by 1
"""

REVENUE_BY_COUNTRY_ON = """
    select sum(i.sale_price)
    from thelook.orders as o
    join thelook.order_items as i on i.order_id = o.order_id
    join thelook.users as u on u.id = o.user_id
    where o.status = 'Complete' and u.country = ? and cast(o.created_at as date) = ?
"""
COUNTRY_ORDERS_ON = """
    select u.country, count(distinct o.order_id) filter (
        where o.status = 'Complete' and cast(o.created_at as date) = ?)
    from thelook.users as u left join thelook.orders as o on o.user_id = u.id
    where u.country is not null group by 1
"""


@pytest.fixture(scope="module")
def kpi(built_db: Path) -> Iterator[KpiService]:
    service = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)), clock=lambda: naive_utc(NOW)
    )
    yield service
    service.reader.warehouse.close()


@pytest.fixture
def make(kpi, slack, state_db_url) -> Callable[..., AlertService]:
    def factory(clock: Clock | None = None, kpi_service: KpiService = kpi, **kwargs):
        clock = clock or Clock(NOW)
        engine = state_engine(state_db_url)
        sender = SlackSender(message_client(TOKEN, slack.base_url))
        options = {"clock": clock, "sleep": lambda s: None, "charts": False} | kwargs
        return AlertService(kpi_service, AlertStore(engine), DigestStore(engine), sender, **options)

    return factory


def posts(slack: SlackDouble, channel: str = CHANNEL) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == channel]


def button_value(message) -> str:
    [action] = [b for b in message.blocks if b.get("type") == "actions"]
    [button] = action["elements"]
    assert button["type"] == "button" and button["action_id"] == ASK_ACTION_ID
    return button["value"]


def vocabulary(service: AlertService) -> Vocabulary:
    return Vocabulary.of(service.semantic.metrics(), service.semantic.dimensions())


# ------------------------------------------------------------------ numbers


def test_semantic_metric_rules_match_the_raw_tables(make, slack, raw) -> None:
    service = make()
    day, week = DEMO_END, DEMO_END - timedelta(days=7)
    new_users = per_day(raw, NEW_USERS)[day]
    chrome = per_day(raw, SESSIONS_BY_BROWSER, "Chrome")
    by_country = dict(raw.execute(COUNTRY_ORDERS_ON, [day]).fetchall())
    top = max(by_country, key=lambda c: (by_country[c], c))  # the most orders that day
    quiet = min(c for c, n in by_country.items() if n == 0)  # a country with none
    orders = per_day(raw, ORDERS_BY_COUNTRY, top)[day]
    assert new_users > 0 and orders > 1 and chrome[week] > 0
    change = chrome[day] / chrome[week] - 1
    assert abs(change) > 0.002  # the test needs a movement to set a threshold under
    verb = "drops" if change < 0 else "rises"
    percent = math.floor(abs(change) * 1000) / 10  # just under the movement

    texts = {
        "new_users": f"new_users below {new_users + 1:g}",
        "sessions": f"sessions where browser = chrome {verb} {percent:g}%",
        "orders": f"orders where country = {top.lower()} above {orders - 1:g}",
        "none": f"orders where country = {quiet.upper()} below 1",  # no row: a zero day
        "revenue": f"revenue where country = {top} above 0",  # restricted: allowlists open
    }
    stored = {}
    for name, text in texts.items():
        created = service.create(CHANNEL, USER, rule(text), as_of=AS_OF)
        assert not isinstance(created, str), created
        stored[name], [outcome] = created
        assert outcome.status == "sent" and outcome.day == day, (text, outcome)
    # The warehouse's spelling is what is stored (and bound), not what was typed.
    assert stored["sessions"].rule.where == ("browser", "Chrome")
    assert stored["orders"].rule.where == ("country", top)
    # Strict thresholds: the same numbers as thresholds don't fire.
    for text in (
        f"new_users below {new_users:g}",
        f"orders where country = {top} above {orders:g}",
    ):
        _, [not_fired] = service.create(CHANNEL, USER, rule(text), as_of=AS_OF)
        assert not_fired.status == "not_fired", text

    users_msg, sessions_msg, orders_msg, none_msg, revenue_msg = (m.all_text for m in posts(slack))
    [[revenue]] = raw.execute(REVENUE_BY_COUNTRY_ON, [top, day]).fetchall()
    assert f"Revenue (country = {top}) on {fmt.day(day)}: {fmt.money(revenue)}" in revenue_msg
    assert f"New users on {fmt.day(day)}: {fmt.count(new_users)}" in users_msg
    assert f"below your threshold of {fmt.count(new_users + 1)}" in users_msg
    moved = "down" if change < 0 else "up"
    assert (
        f"Sessions (browser = Chrome) on {fmt.day(day)}: {fmt.count(chrome[day])}" in sessions_msg
    )
    assert f"{moved} {100 * abs(change):.1f} % from {fmt.count(chrome[week])}" in sessions_msg
    assert f"Orders (country = {top}) on {fmt.day(day)}: {fmt.count(orders)}" in orders_msg
    assert f"Orders (country = {quiet}) on {fmt.day(day)}: 0, 1 below" in none_msg
    assert f"<@{USER}>" in orders_msg and "data as of" in orders_msg


def _raw_series(values: dict[date, float], first_day: date, last: date) -> dict[date, float]:
    days = (last - first_day).days + 1
    return {first_day + timedelta(days=i): values.get(first_day + timedelta(days=i), 0.0)
            for i in range(days)}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "sql", "params"),
    [
        ("new_users anomaly", NEW_USERS, ()),
        ("sessions where browser = Chrome anomaly", SESSIONS_BY_BROWSER, ("Chrome",)),
    ],
)
def test_anomaly_on_a_semantic_metric_agrees_with_the_raw_series(
    make, raw, text, sql, params
) -> None:
    service = make(catchup_days=5)
    created = service.create(CHANNEL, USER, rule(text), as_of=AS_OF, evaluate=False)
    assert not isinstance(created, str), created
    stored, _ = created
    _set_first_day(service, stored.id, DEMO_END - timedelta(days=4))
    outcomes = service.check(AS_OF, dry_run=True)
    first_day = service.kpi.reader.data_status().first_day
    series = _raw_series(per_day(raw, sql, *params), first_day, DEMO_END)
    expected = {}
    for outcome in outcomes:
        check = check_day(series, outcome.day)
        assert check.assessed == (outcome.status != "not_judged"), outcome
        expected[outcome.day] = check.is_anomaly
        assert (outcome.status == "would_send") == check.is_anomaly, outcome
    assert sorted(expected) == [DEMO_END - timedelta(days=i) for i in range(4, -1, -1)]


# ------------------------------------------------------------------ the button


def test_the_button_asks_the_full_answer_the_parser_reads_back(make, slack) -> None:
    service = make()
    texts = ("revenue above 0", "orders where country = United States above 0")
    for text in texts:
        created = service.create(CHANNEL, USER, rule(text), as_of=AS_OF)
        assert not isinstance(created, str) and created[1][0].status == "sent", created
    words = vocabulary(service)
    revenue_msg, orders_msg = posts(slack)
    last_28 = parse_window("last 28 days", AS_OF)
    expected = {
        "revenue last 28 days daily": (("revenue",), ()),
        'orders where country = "United States" last 28 days daily': (
            ("orders",),
            (MetricFilter("country", ("United States",)),),
        ),
    }
    for message in (revenue_msg, orders_msg):
        value = button_value(message)
        assert value in expected
        question = parse_question(value, AS_OF, words)
        assert isinstance(question, MetricQuestion), question
        assert (question.metrics, question.filters) == expected[value]
        assert question.grain == "day" and question.current == last_28

    ab = experiment_alert(
        "ab checkout_redesign", "checkout_redesign", "srm", "", AlertContext(1, USER, None)
    )
    value = button_value(_Message(ab.blocks))
    assert parse_question(value, AS_OF) == ExperimentQuestion("checkout_redesign")
    assert full_answer_question(rule("ab checkout_redesign")) == value


class _Message:
    def __init__(self, blocks: list[dict]) -> None:
        self.blocks = blocks


# ------------------------------------------------------------------ bad names and values


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("new_user below 5", "Did you mean `new_users`"),
        ("sesions drops 20%", "Did you mean `sessions`"),
        ("revnue where country = China drops 20%", "Did you mean `revenue`"),
        ("sessions where country = China below 5", "can't be filtered by `country`"),
        ("sessions where browsr = Chrome below 5", "Did you mean `browser`"),
        ("orders where country = Brasill below 5", "Did you mean `Brasil`"),
        ("orders where country = Chinaa drops 30%", "isn't a known country"),
        ("orders where country = x'_or_'1'='1 below 5", "isn't a known country"),
        ("cancellation_rate above 12", "percentage or a fraction"),
        ("new_users below $5", "isn't money"),
        ("orders where country = China above 10%", "isn't a rate"),
    ],
)
def test_unknown_names_and_values_get_did_you_mean_and_an_example(make, slack, text, says):
    service = make()
    refused = service.create(CHANNEL, USER, rule(text), as_of=AS_OF)
    assert isinstance(refused, str), refused
    assert says in refused
    assert "`/kpi" in refused  # what to type instead
    for example in re.findall(r"`/kpi alert ([^`]*)`", refused):
        if "…" not in example:  # a complete example: it parses
            assert isinstance(parse_rule(example.split()), AlertRule), example
    assert service.rules(CHANNEL) == [] and posts(slack) == []


# ------------------------------------------------------------------ allowlists


def test_restricted_comes_from_the_metrics_meta(make, slack) -> None:
    only_other = Allowlists(channels=frozenset({OTHER}))
    service = make(allowlists=only_other)
    # gross_margin is restricted in dbt's YAML; core's own list doesn't name it.
    refused = service.create(CHANNEL, USER, rule("gross_margin above 0"), as_of=AS_OF)
    assert isinstance(refused, str) and "aren't shared" in refused
    refused = service.create(
        CHANNEL, USER, rule("revenue where country = China above 0"), as_of=AS_OF
    )
    assert isinstance(refused, str) and "aren't shared" in refused
    # new_users is not restricted (meta.restricted: false): allowed anywhere.
    _, [outcome] = service.create(CHANNEL, USER, rule("new_users above 0"), as_of=AS_OF)
    assert outcome.status == "sent"

    # Created while the channel was allowed, delivered after it wasn't.
    make().store.add(CHANNEL, rule("gross_margin above 0"), USER, naive_utc(NOW), DEMO_END)
    outcomes = [o for o in service.check(AS_OF) if o.fired]
    assert [o.status for o in outcomes] == ["not_allowed"]
    assert len(posts(slack)) == 1


# ------------------------------------------------------------------ health


def test_a_failed_round_shows_in_healthz_until_a_round_succeeds(make, slack, tmp_path) -> None:
    service = make()
    assert service.problem() is None
    slack.fail_next("chat.postMessage", "channel_not_found")
    _, [failed] = service.create(CHANNEL, USER, rule("orders above 0"), as_of=AS_OF)
    assert failed.status == "failed"
    healthy, body = report({"alerts": service.problem})
    assert not healthy and body == {"ok": False, "unhealthy": {"alerts": DELIVERY_FAILED}}
    assert service.check(AS_OF) == []  # a full round, nothing left to do: it succeeded
    assert report({"alerts": service.problem}) == (True, {"ok": True})

    missing = KpiService(MartReader(DuckDBWarehouse(tmp_path / "gone.duckdb")))
    broken = make(kpi_service=missing)
    with pytest.raises(Exception, match="warehouse file is missing"):
        broken.check(AS_OF)
    assert broken.problem() == WAREHOUSE_UNREADABLE
    assert broken.check_if_new_data() == []  # the watcher can't read it either
    assert broken.problem() == WAREHOUSE_UNREADABLE


def test_serves_healthz_names_a_failed_alert_round(make, slack, kpi) -> None:
    """``serve``'s checks (``health_checks``) over HTTP, with a scheduler running alerts."""
    from threading import Thread

    from bot.digest.runtime import DigestScheduler
    from bot.digest.service import DigestService
    from bot.slack.server import health_checks, make_http_server, stop_http_server

    alerts = make()
    engine = alerts.store.engine
    digest = DigestService(
        kpi, DigestStore(engine), alerts.sender, timezone=ZoneInfo("UTC"), cron="0 9 1 1 *"
    )
    scheduler = DigestScheduler(digest, engine, grace_hours=48, alerts=alerts).start(catch_up=False)
    checks = health_checks(kpi.reader, scheduler)
    server = make_http_server(None, "127.0.0.1", 0, serve_events=False, checks=checks)  # type: ignore[arg-type]
    thread = Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read()) == {"ok": True}
        alerts.note_round(WAREHOUSE_UNREADABLE)  # what a round that couldn't read it notes
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=10)
        with err.value:
            assert err.value.code == 503
            assert json.loads(err.value.read()) == {
                "ok": False,
                "unhealthy": {"alerts": WAREHOUSE_UNREADABLE},
            }
    finally:
        stop_http_server(server)
        thread.join(10)
        scheduler.shutdown(wait=True)


def test_without_the_semantic_layer_rules_are_refused_and_rounds_fail_visibly(
    make, built_db, tmp_path
) -> None:
    from bot.answerers.metrics import layer_for

    reader = MartReader(DuckDBWarehouse(built_db))
    layer_for(reader, tmp_path / "no_manifest.json")  # this warehouse's layer: no manifest
    service = make(kpi_service=KpiService(reader, clock=lambda: naive_utc(NOW)))
    refused = service.create(CHANNEL, USER, rule("orders drops 30%"), as_of=AS_OF)
    assert (
        isinstance(refused, str)
        and "semantic layer" in refused
        and "python -m bot build" in refused
    )
    assert service.rules(CHANNEL) == []
    # A rule set before the manifest went missing: the round fails visibly, and a
    # metric it can't describe is treated as revenue-derived (fail closed).
    service.store.add(CHANNEL, rule("new_users above 0"), USER, naive_utc(NOW), DEMO_END)
    assert service.check(AS_OF) == []
    assert service.problem() == WAREHOUSE_UNREADABLE
    assert service.restricted(rule("new_users above 0"))
    assert not service.restricted(rule("orders above 0"))  # core's fallback knows orders
    reader.warehouse.close()


@pytest.mark.parametrize("metric", ["revenue", "orders", "aov"])
def test_the_semantic_series_equals_the_revenue_daily_mart(make, metric) -> None:
    """Why revenue/orders/aov alerts read the semantic layer like every other metric:
    over every day of the data, its daily series is exactly the mart's."""
    from bot.alerts.service import _Round
    from bot.core.alerts import metric_series

    service = make(catchup_days=60)
    status = service.kpi.reader.data_status()
    round_ = _Round(service, status.last_day, True, status)
    round_.start = status.first_day
    semantic = round_.series(rule(f"{metric} anomaly"))
    frame = service.kpi.reader.revenue_daily(status.first_day, status.last_day)
    rows = {
        d: (int(o), float(r))
        for d, o, r in zip(frame["day"], frame["orders"], frame["revenue"], strict=True)
    }
    mart = metric_series(rows, metric)
    assert len(mart) == (status.last_day - status.first_day).days + 1 > 700
    assert semantic == mart  # exact, None (aov without orders) included


def test_a_rate_alert_matches_the_raw_tables(make, slack, raw) -> None:
    """cancellation_rate (a ratio, unit ratio): the day's cancelled / all orders, any
    status; a threshold typed in % is stored as a fraction."""
    [(cancelled, everything)] = raw.execute(
        """
        select count(*) filter (where status = 'Cancelled'), count(*) from thelook.orders
        where cast(created_at as date) = ?
        """,
        [DEMO_END],
    ).fetchall()
    rate = cancelled / everything
    threshold = math.floor(rate * 1000) / 10 - 0.1  # percent, just under the day's rate
    assert threshold >= 0, "the test needs a day with cancellations"
    service = make()
    created = service.create(
        CHANNEL, USER, rule(f"cancellation_rate above {threshold:g}%"), as_of=AS_OF
    )
    assert not isinstance(created, str), created
    stored, [outcome] = created
    assert stored.rule.threshold == pytest.approx(threshold / 100)
    assert stored.rule.describe() == f"cancellation_rate above {threshold / 100:g}"
    assert outcome.status == "sent"
    [message] = posts(slack)
    assert f"Cancellation rate on {fmt.day(DEMO_END)}: {fmt.rate(rate)}" in message.all_text
    assert f"your threshold of {fmt.rate(threshold / 100)}" in message.all_text
