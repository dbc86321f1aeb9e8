"""The words around the numbers: retention's trend, spans across years, plurals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot import kinds
from bot.answers import Freshness, RetentionAnswer
from bot.core import format as fmt
from bot.core.questions import RetentionQuestion
from bot.core.retention import retention_report
from bot.core.table import Rows

FIRST_COHORT = date(2025, 12, 1)  # a Monday


def mart_rows(cohorts: int) -> Rows:
    """``retention_weekly``-shaped rows; the newest cohort has no week-1 cell yet."""
    rows = []
    for i in range(cohorts):
        week = FIRST_COHORT + timedelta(weeks=i)
        size = 100 + i
        rows.append((week, 0, size, size, 1.0))
        if i < cohorts - 1:
            active = 20 + (i % 7)
            rows.append((week, 1, size, active, active / size))
    return Rows(
        ("cohort_week", "week_n", "cohort_size", "active_users", "retention_rate"), tuple(rows)
    )


def answer(rows: Rows, weeks: int) -> RetentionAnswer:
    fresh = Freshness(datetime(2026, 11, 30), datetime(2026, 11, 30, 6), 36)
    return RetentionAnswer(RetentionQuestion(weeks), retention_report(rows, weeks), fresh)


def test_the_trend_compares_only_the_cohorts_shown() -> None:
    rows = mart_rows(30)
    shown = answer(rows, 8)
    trend = shown.report.trend
    assert trend is not None
    # 8 shown, the newest without week 1: 4 recent vs the 3 shown before them.
    assert (trend.recent.cohorts, trend.baseline.cohorts) == (4, 3)
    shown_weeks = set(shown.report.cohorts)
    week1 = sorted(
        (r for r in rows.records() if r["week_n"] == 1 and r["cohort_week"] in shown_weeks),
        key=lambda r: r["cohort_week"],
    )
    before = week1[:-4]
    assert trend.baseline.users == sum(r["cohort_size"] for r in before)
    assert trend.baseline.active_users == sum(r["active_users"] for r in before)
    assert "for the 3 shown before them" in kinds.render_text(shown)


def test_too_few_cohorts_for_a_trend_leave_it_out() -> None:
    text = kinds.render_text(answer(mart_rows(30), 1))
    assert "Recent cohorts" not in text
    assert "1 signup cohort " in text and "1 signup cohorts" not in text


def test_a_span_across_two_years_names_both_years() -> None:
    assert fmt.date_range(date(2025, 12, 1), date(2026, 11, 23)) == "Dec 01, 2025 – Nov 23, 2026"
    assert fmt.date_range(date(2026, 10, 5), date(2026, 10, 11), short_month=True) == (
        "Oct 05 – 11, 2026"
    )
    text = kinds.render_text(answer(mart_rows(52), 52))
    assert "52 signup cohorts (Dec 01, 2025 – Nov 23, 2026" in text


def test_plurals() -> None:
    assert fmt.plural(1, "user") == "1 user"
    assert fmt.plural(2, "user") == "2 users"
    assert fmt.plural(1234, "user") == "1,234 users"


def test_one_order_one_cohort_one_user_are_singular() -> None:
    from bot.answers import ExperimentListAnswer, RevenueAnswer
    from bot.core.questions import RevenueQuestion
    from bot.core.revenue import revenue_report
    from bot.core.windows import DateWindow, previous_window
    from bot.digest.blocks import _baseline_line, _experiment_line
    from bot.digest.content import ExperimentLine
    from bot.render import blocks

    day = date(2026, 11, 24)
    current = DateWindow(day, day, "yesterday")
    previous = previous_window(current)
    daily = Rows(("day", "orders", "revenue"), ((previous.start, 1, 40.0), (day, 3, 90.0)))
    report = revenue_report(daily, current, previous, None, previous.start, day)
    fresh = Freshness(datetime(2026, 11, 25), datetime(2026, 11, 25, 6), 36)
    text = kinds.render_text(RevenueAnswer(RevenueQuestion(current, previous), report, fresh))
    assert "$40.00 · 1 order · AOV" in text
    assert "1 orders" not in text
    assert _baseline_line(report.previous).startswith("$40.00 · 1 order · AOV")

    line = ExperimentLine("solo", "not_testable", "too few users", 1, False, None)
    assert "(1 user)" in _experiment_line(line)

    # Two cohorts shown: week-1 and week-4 are each pooled over one complete cohort.
    retention = kinds.render_text(answer(mart_rows(2), 2))
    assert "pooled over 1 cohort, " in retention and "1 cohorts" not in retention

    listing = ExperimentListAnswer((object(),), fresh)  # type: ignore[arg-type]
    assert blocks.experiment_list_fallback(listing) == "1 experiment"
