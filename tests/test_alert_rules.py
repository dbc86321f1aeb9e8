"""Alert rules (``bot.core.alerts``): the grammar, and each rule on hand-worked series."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from bot.core.alerts import (
    AlertParseError,
    AlertRule,
    ab_events,
    days_to_evaluate,
    evaluate,
    filled_series,
    full_answer_question,
    metric_series,
    parse_rule,
)

DAY = date(2026, 11, 17)  # a Tuesday


def rule(text: str) -> AlertRule:
    parsed = parse_rule(text.split())
    assert isinstance(parsed, AlertRule), parsed
    return parsed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revenue below 1000", AlertRule("revenue", "below", 1000.0)),
        ("Revenue BELOW $1,000", AlertRule("revenue", "below", 1000.0)),
        ("orders above 2.5k", AlertRule("orders", "above", 2500.0)),
        ("aov drops 20%", AlertRule("aov", "drops", 20.0)),
        ("orders drops by 30 %", AlertRule("orders", "drops", 30.0)),
        ("rev rises 150%", AlertRule("revenue", "rises", 150.0)),
        ("orders anomaly", AlertRule("orders", "anomaly")),
        ("ab checkout_redesign", AlertRule("ab", "ab", experiment_id="checkout_redesign")),
        ("new_users below 50", AlertRule("new_users", "below", 50.0)),
        ("cancellation_rate above 12%", AlertRule("cancellation_rate", "above", 0.12)),
        (
            "sessions where browser = Chrome drops 20%",
            AlertRule("sessions", "drops", 20.0, ("browser", "Chrome")),
        ),
        (
            "orders where Country = United States anomaly",
            AlertRule("orders", "anomaly", where=("country", "United States")),
        ),
        (
            'revenue where country="United States" below $1,000',
            AlertRule("revenue", "below", 1000.0, ("country", "United States")),
        ),
    ],
)
def test_rules_parse_to_their_canonical_form(text: str, expected: AlertRule) -> None:
    parsed = rule(text)
    assert parsed == expected
    assert rule(parsed.describe()) == parsed  # the canonical text reads back the same


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Which metric"),
        ("sess!ons below 10", "isn't a metric name"),
        ("revenue", "Which rule"),
        ("revenue below", "needs a number"),
        ("revenue below lots", "needs a number"),
        ("orders below $5", "needs a number"),  # orders aren't money
        ("revenue drops 0%", "percentage above 0"),
        ("revenue drops 120%", "at most 100"),
        ("revenue doubles", "isn't a rule"),
        ("revenue anomaly now", "takes nothing"),
        ("ab", "experiment id"),
        ("ab a b", "experiment id"),
        ("revenue where country = below 5", "dimension and a value"),
        ("revenue where = below 5", "dimension"),
        ("revenue where country = `DE` below 5", "isn't a value"),
        ("orders where country = Brazil", "Which rule"),
        ("revenue below <!channel>", "&lt;!channel&gt;"),
    ],
)
def test_bad_rules_get_a_specific_message_and_an_example(text: str, says: str) -> None:
    parsed = parse_rule(text.split())
    assert isinstance(parsed, AlertParseError)
    assert says in parsed.message
    assert parsed.example.startswith("/kpi alert ")
    example = parse_rule(parsed.example.removeprefix("/kpi alert ").split())
    assert isinstance(example, AlertRule)  # the example works


def test_revenue_and_aov_are_restricted_orders_are_not() -> None:
    assert rule("revenue anomaly").restricted
    assert rule("aov anomaly").restricted
    assert not rule("orders anomaly").restricted
    assert rule("ab x").restricted  # /kpi ab shows revenue per user
    # Core doesn't know other metrics: restricted until the semantic layer says not.
    assert rule("new_users anomaly").restricted


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("revenue drops 30%", "revenue last 28 days daily"),
        (
            "orders where country = Brazil below 5",
            "orders where country = Brazil last 28 days daily",
        ),
        (
            "orders where country = United States below 5",
            'orders where country = "United States" last 28 days daily',
        ),
        ("ab checkout_redesign", "ab checkout_redesign"),
    ],
)
def test_the_full_answer_question(text: str, question: str) -> None:
    assert full_answer_question(rule(text)) == question


def test_filled_series_zero_fills_sums_not_ratios_nor_days_before_the_data() -> None:
    start, first = date(2026, 11, 1), date(2026, 11, 2)
    values = {date(2026, 11, 3): 4.0}
    sums = filled_series(values, start, date(2026, 11, 4), first, missing_is_zero=True)
    assert sums == {
        date(2026, 11, 1): None,
        date(2026, 11, 2): 0.0,
        date(2026, 11, 3): 4.0,
        date(2026, 11, 4): 0.0,
    }
    ratios = filled_series(values, start, date(2026, 11, 4), first, missing_is_zero=False)
    assert [d for d, v in ratios.items() if v is not None] == [date(2026, 11, 3)]


def test_metric_series_from_orders_and_revenue() -> None:
    rows = {DAY: (4, 250.0), DAY + timedelta(days=1): (0, 0.0)}
    assert metric_series(rows, "revenue") == {DAY: 250.0, DAY + timedelta(days=1): 0.0}
    assert metric_series(rows, "orders") == {DAY: 4.0, DAY + timedelta(days=1): 0.0}
    assert metric_series(rows, "aov") == {DAY: 62.5, DAY + timedelta(days=1): None}


def test_below_and_above_are_strict() -> None:
    below, above = rule("revenue below 1000"), rule("revenue above 1000")
    assert evaluate(below, {DAY: 999.99}, DAY).fired
    assert not evaluate(below, {DAY: 1000.0}, DAY).fired
    assert evaluate(above, {DAY: 1000.01}, DAY).fired
    assert not evaluate(above, {DAY: 1000.0}, DAY).fired
    result = evaluate(below, {DAY: 0.0}, DAY)
    assert result.fired and result.judged and result.reference == 1000.0


def test_drops_and_rises_compare_with_the_same_weekday_a_week_earlier() -> None:
    week_ago = DAY - timedelta(days=7)
    drops = rule("orders drops 20%")
    hit = evaluate(drops, {week_ago: 100.0, DAY - timedelta(days=1): 1.0, DAY: 80.0}, DAY)
    assert hit.fired and hit.reference == 100.0 and hit.reference_day == week_ago
    assert math.isclose(hit.change, -0.2)
    assert not evaluate(drops, {week_ago: 100.0, DAY: 80.01}, DAY).fired
    rises = rule("revenue rises 50%")
    assert evaluate(rises, {week_ago: 200.0, DAY: 300.0}, DAY).fired
    assert not evaluate(rises, {week_ago: 200.0, DAY: 299.0}, DAY).fired
    # Nothing (or zero) a week earlier: no percentage, not judged, not fired.
    for series in ({DAY: 5.0}, {week_ago: 0.0, DAY: 5.0}):
        result = evaluate(rises, series, DAY)
        assert not result.fired and not result.judged


def test_a_day_without_a_value_is_not_judged() -> None:
    aov = rule("aov below 10")
    series = metric_series({DAY: (0, 0.0)}, "aov")
    result = evaluate(aov, series, DAY)
    assert not result.judged and not result.fired and result.value is None


def test_anomaly_on_a_flat_series_uses_the_floored_band() -> None:
    """Flat 100 a day for 8 weeks: MAD 0, spread floored at 0.05, k = 4, so the band is
    100·e^(±0.2) = [81.87, 122.14] (and at least 100 ± 4)."""
    series = {DAY - timedelta(days=i): 100.0 for i in range(1, 57)}
    anomaly = rule("revenue anomaly")
    low = evaluate(anomaly, {**series, DAY: 81.0}, DAY)
    assert low.fired and low.direction == "low"
    assert math.isclose(low.band.low, 100 * math.exp(-0.2))
    assert math.isclose(low.band.high, 100 * math.exp(0.2))
    assert not evaluate(anomaly, {**series, DAY: 82.0}, DAY).fired
    assert evaluate(anomaly, {**series, DAY: 123.0}, DAY).direction == "high"


def test_anomaly_needs_six_earlier_same_weekdays() -> None:
    series = {DAY - timedelta(weeks=w): 100.0 for w in range(1, 6)}  # only 5
    result = evaluate(rule("orders anomaly"), {**series, DAY: 1.0}, DAY)
    assert not result.judged and not result.fired and "5 of 8" in result.reason


def test_ab_events() -> None:
    assert ab_events(False, False) == ()
    assert ab_events(True, True) == ("srm", "significant")


def test_days_to_evaluate_catch_up_and_first_day() -> None:
    d = date(2026, 11, 24)
    # created today on the latest day: that day only
    assert days_to_evaluate(d, None, d, 3) == [d]
    # evaluated through two days ago: the two since
    assert days_to_evaluate(d, d - timedelta(days=2), d - timedelta(days=5), 3) == [
        d - timedelta(days=1),
        d,
    ]
    # a long outage: only the 3 most recent days
    assert days_to_evaluate(d, d - timedelta(days=30), d - timedelta(days=60), 3) == [
        d - timedelta(days=2),
        d - timedelta(days=1),
        d,
    ]
    assert days_to_evaluate(d, d, d - timedelta(days=9), 3) == []  # up to date
    with pytest.raises(ValueError):
        days_to_evaluate(d, None, d, 0)


# ------------------------------------------------------------------ planted demo anomalies

PLANTED_USERS = 30_000  # at 3,000 users a day has ~6 orders: noise hides a 0.3× day
PLANTED_END = date(2026, 11, 24)


@pytest.fixture(scope="module")
def planted_raw(tmp_path_factory: pytest.TempPathFactory) -> dict[date, tuple[int, float]]:
    """(orders, revenue) per day from the raw tables (METRICS.md), no dbt needed."""
    import duckdb

    from bot.demo_data import generate

    path = tmp_path_factory.mktemp("alerts-planted") / "planted.duckdb"
    generate(path, users=PLANTED_USERS, seed=7, end=PLANTED_END)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            """
            select cast(o.created_at as date), count(distinct o.order_id),
                   coalesce(sum(i.sale_price), 0)
            from thelook.orders o left join thelook.order_items i on i.order_id = o.order_id
            where o.status = 'Complete'
            group by 1
            """
        ).fetchall()
    raw = {day: (int(n), float(r)) for day, n, r in rows}
    day = min(raw)
    while day <= PLANTED_END:
        raw.setdefault(day, (0, 0.0))  # a day inside the data with no orders is a zero
        day += timedelta(days=1)
    return raw


def _expected_changes(condition: str, percent: float) -> set[date]:
    """Where a week-over-week rule must fire, from the planted factors alone: on a planted
    day, and a week later (when the planted day is the one compared with)."""
    from bot.demo_data import ANOMALIES

    limit = percent / 100
    days = set()
    for anomaly in ANOMALIES:
        day = PLANTED_END - timedelta(days=anomaly.offset_days)
        for when, ratio in ((day, anomaly.factor), (day + timedelta(days=7), 1 / anomaly.factor)):
            hit = ratio <= 1 - limit if condition == "drops" else ratio >= 1 + limit
            if hit and when <= PLANTED_END:
                days.add(when)
    return days


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revenue anomaly", "planted"),
        ("orders anomaly", "planted"),
        ("aov anomaly", "none"),  # the plant changes how many buy, not what they spend
        ("revenue drops 50%", "drops 50"),
        ("orders drops 50%", "drops 50"),
        ("revenue rises 100%", "rises 100"),
        ("orders rises 100%", "rises 100"),
    ],
)
def test_each_rule_kind_fires_on_the_planted_days(planted_raw, text: str, expected: str) -> None:
    from bot.demo_data import planted_anomalies

    parsed = rule(text)
    series = metric_series(planted_raw, parsed.metric)
    days = [PLANTED_END - timedelta(days=i) for i in range(60)]
    fired = {d for d in days if evaluate(parsed, series, d).fired}
    if expected == "planted":
        assert fired == set(planted_anomalies(PLANTED_END))
    elif expected == "none":
        assert fired == set()
    else:
        condition, percent = expected.split()
        assert fired == _expected_changes(condition, float(percent))
