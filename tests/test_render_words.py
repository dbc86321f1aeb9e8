"""The words around the numbers: retention's trend, spans across years, plurals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from bot import kinds
from bot.answers import Freshness, RetentionAnswer
from bot.core import format as fmt
from bot.core.questions import RetentionQuestion
from bot.core.retention import retention_report

FIRST_COHORT = date(2025, 12, 1)  # a Monday


def mart_rows(cohorts: int) -> pd.DataFrame:
    """``retention_weekly``-shaped rows; the newest cohort has no week-1 cell yet."""
    rows = []
    for i in range(cohorts):
        week = FIRST_COHORT + timedelta(weeks=i)
        size = 100 + i
        rows.append((week, 0, size, size, 1.0))
        if i < cohorts - 1:
            active = 20 + (i % 7)
            rows.append((week, 1, size, active, active / size))
    return pd.DataFrame(
        rows, columns=["cohort_week", "week_n", "cohort_size", "active_users", "retention_rate"]
    )


def answer(rows: pd.DataFrame, weeks: int) -> RetentionAnswer:
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
    week1 = rows[(rows.week_n == 1) & rows.cohort_week.isin(shown_weeks)].sort_values(
        "cohort_week"
    )
    before = week1.iloc[:-4]
    assert trend.baseline.users == before.cohort_size.sum()
    assert trend.baseline.active_users == before.active_users.sum()
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
