"""Window arithmetic: table-driven cases at fixed as-of dates, plus invariants."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.windows import (
    MAX_WINDOW_DAYS,
    DateWindow,
    WindowError,
    last_n_days,
    last_n_periods,
    parse_window,
    period_to_date,
    previous_window,
    same_window_last_year,
)

d = date.fromisoformat
WED = d("2025-10-15")  # a Wednesday in the middle of a month
FIRST = d("2025-10-01")  # first of a month and of Q4 (a Wednesday)
MONDAY = d("2025-10-13")
NEW_YEAR = d("2025-01-01")  # first of month, quarter and year (a Wednesday)
LEAP_MARCH = d("2024-03-01")  # the day after Feb 29 (a Friday)
LEAP_DAY = d("2024-02-29")


# --- DateWindow -------------------------------------------------------------------


def test_window_days_contains_and_dates() -> None:
    w = DateWindow(d("2025-09-29"), d("2025-10-02"), "x")
    assert w.days == 4
    assert w.kind == "days"
    assert w.dates() == [d("2025-09-29"), d("2025-09-30"), d("2025-10-01"), d("2025-10-02")]
    assert w.contains(d("2025-09-29")) and w.contains(d("2025-10-02"))
    assert not w.contains(d("2025-09-28")) and not w.contains(d("2025-10-03"))
    assert DateWindow(WED, WED, "one day").days == 1


def test_window_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        DateWindow(d("2025-10-02"), d("2025-10-01"), "backwards")


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        ("2025-10-02", "2025-10-31", "month"),  # not the 1st
        ("2025-10-01", "2025-10-30", "month"),  # not the month's end
        ("2025-10-07", "2025-10-13", "week"),  # a Tuesday
        ("2025-10-06", "2025-10-11", "week"),  # ends on a Saturday
        ("2025-08-01", "2025-10-31", "quarter"),  # August isn't a quarter start
        ("2025-10-02", "2025-10-14", "mtd"),  # to-date windows start on the 1st
        ("2025-10-01", "2025-11-02", "mtd"),  # and stay inside their month
        ("2025-10-01", "2025-10-14", "fortnight"),  # unknown kind
    ],
)
def test_window_rejects_shapes_that_contradict_kind(start: str, end: str, kind: str) -> None:
    with pytest.raises(ValueError):
        DateWindow(d(start), d(end), "x", kind)  # type: ignore[arg-type]


def test_window_rejects_datetimes() -> None:
    with pytest.raises(TypeError):
        DateWindow(datetime(2025, 10, 1), datetime(2025, 10, 2), "x")  # type: ignore[arg-type]


# --- window phrases ---------------------------------------------------------------

PHRASES = [
    # phrase, as_of, start, end, kind, label
    ("yesterday", WED, "2025-10-14", "2025-10-14", "days", "yesterday"),
    ("last day", WED, "2025-10-14", "2025-10-14", "days", "yesterday"),
    ("last 7 days", WED, "2025-10-08", "2025-10-14", "days", "last 7 days"),
    ("last 30 days", WED, "2025-09-15", "2025-10-14", "days", "last 30 days"),
    ("Last  30   Days", WED, "2025-09-15", "2025-10-14", "days", "last 30 days"),
    ("last 30d", WED, "2025-09-15", "2025-10-14", "days", "last 30 days"),
    ("30d", WED, "2025-09-15", "2025-10-14", "days", "last 30 days"),
    ("past 7 days", WED, "2025-10-08", "2025-10-14", "days", "last 7 days"),
    ("the last 7 days", WED, "2025-10-08", "2025-10-14", "days", "last 7 days"),
    ("over the last 7 days", WED, "2025-10-08", "2025-10-14", "days", "last 7 days"),
    ("last 30", WED, "2025-09-15", "2025-10-14", "days", "last 30 days"),
    ("last 1 day", WED, "2025-10-14", "2025-10-14", "days", "yesterday"),
    ("last 30 days?", WED, "2025-09-15", "2025-10-14", "days", "last 30 days"),
    ("last 30 days", FIRST, "2025-09-01", "2025-09-30", "days", "last 30 days"),
    ("last 30 days", LEAP_MARCH, "2024-01-31", "2024-02-29", "days", "last 30 days"),
    ("last 3660 days", WED, "2015-10-08", "2025-10-14", "days", "last 3660 days"),
    # week to date, month to date, …: period start .. D − 1
    ("wtd", WED, "2025-10-13", "2025-10-14", "wtd", "week to date"),
    ("this week", WED, "2025-10-13", "2025-10-14", "wtd", "week to date"),
    ("wtd", FIRST, "2025-09-29", "2025-09-30", "wtd", "week to date"),
    ("wtd", NEW_YEAR, "2024-12-30", "2024-12-31", "wtd", "week to date"),
    ("mtd", WED, "2025-10-01", "2025-10-14", "mtd", "month to date"),
    ("month to date", WED, "2025-10-01", "2025-10-14", "mtd", "month to date"),
    ("month-to-date", WED, "2025-10-01", "2025-10-14", "mtd", "month to date"),
    ("this month", WED, "2025-10-01", "2025-10-14", "mtd", "month to date"),
    ("mtd", LEAP_MARCH.replace(day=2), "2024-03-01", "2024-03-01", "mtd", "month to date"),
    ("MTD", MONDAY, "2025-10-01", "2025-10-12", "mtd", "month to date"),
    ("qtd", WED, "2025-10-01", "2025-10-14", "qtd", "quarter to date"),
    ("qtd", d("2025-08-14"), "2025-07-01", "2025-08-13", "qtd", "quarter to date"),
    ("ytd", WED, "2025-01-01", "2025-10-14", "ytd", "year to date"),
    ("ytd", LEAP_MARCH, "2024-01-01", "2024-02-29", "ytd", "year to date"),
    ("this year", FIRST, "2025-01-01", "2025-09-30", "ytd", "year to date"),
    # whole Monday-start weeks before D's week
    ("last week", WED, "2025-10-06", "2025-10-12", "week", "last week"),
    ("previous week", MONDAY, "2025-10-06", "2025-10-12", "week", "last week"),
    ("last week", NEW_YEAR, "2024-12-23", "2024-12-29", "week", "last week"),
    ("last week", d("2025-10-19"), "2025-10-06", "2025-10-12", "week", "last week"),  # Sunday
    ("last 4 weeks", WED, "2025-09-15", "2025-10-12", "week", "last 4 weeks"),
    ("last 4w", WED, "2025-09-15", "2025-10-12", "week", "last 4 weeks"),
    ("last 1 week", WED, "2025-10-06", "2025-10-12", "week", "last week"),
    # whole calendar months, quarters, years before D's
    ("last month", WED, "2025-09-01", "2025-09-30", "month", "September 2025"),
    ("last month", FIRST, "2025-09-01", "2025-09-30", "month", "September 2025"),
    ("last month", NEW_YEAR, "2024-12-01", "2024-12-31", "month", "December 2024"),
    ("last month", LEAP_MARCH, "2024-02-01", "2024-02-29", "month", "February 2024"),
    ("past month", LEAP_MARCH, "2024-02-01", "2024-02-29", "month", "February 2024"),
    ("last 3 months", WED, "2025-07-01", "2025-09-30", "month", "last 3 months"),
    ("last 12 months", NEW_YEAR, "2024-01-01", "2024-12-31", "month", "last 12 months"),
    ("last quarter", WED, "2025-07-01", "2025-09-30", "quarter", "Q3 2025"),
    ("last quarter", NEW_YEAR, "2024-10-01", "2024-12-31", "quarter", "Q4 2024"),
    ("last 2 quarters", WED, "2025-04-01", "2025-09-30", "quarter", "last 2 quarters"),
    ("last year", WED, "2024-01-01", "2024-12-31", "year", "2024"),
    ("last 2 years", WED, "2023-01-01", "2024-12-31", "year", "last 2 years"),
    # explicit dates
    ("2025-10-03", WED, "2025-10-03", "2025-10-03", "days", "2025-10-03"),
    ("on 2025-10-03", WED, "2025-10-03", "2025-10-03", "days", "2025-10-03"),
    ("2024-02-29", WED, "2024-02-29", "2024-02-29", "days", "2024-02-29"),
    ("2025-9-3", WED, "2025-09-03", "2025-09-03", "days", "2025-09-03"),
    ("2025-09-14..2025-10-14", WED, "2025-09-14", "2025-10-14", "days", "2025-09-14 to 2025-10-14"),
    (
        "2025-09-14 .. 2025-10-14",
        WED,
        "2025-09-14",
        "2025-10-14",
        "days",
        "2025-09-14 to 2025-10-14",
    ),
    (
        "2025-09-14 to 2025-10-14",
        WED,
        "2025-09-14",
        "2025-10-14",
        "days",
        "2025-09-14 to 2025-10-14",
    ),
    (
        "from 2025-09-14 to 2025-10-14",
        WED,
        "2025-09-14",
        "2025-10-14",
        "days",
        "2025-09-14 to 2025-10-14",
    ),
    (
        "2025-09-14 - 2025-10-14",
        WED,
        "2025-09-14",
        "2025-10-14",
        "days",
        "2025-09-14 to 2025-10-14",
    ),
    ("2025-09-14–2025-10-14", WED, "2025-09-14", "2025-10-14", "days", "2025-09-14 to 2025-10-14"),
    (
        "2025-09-14 – 2025-10-14",
        WED,
        "2025-09-14",
        "2025-10-14",
        "days",
        "2025-09-14 to 2025-10-14",
    ),
    ("2025-10-10..2025-10-20", WED, "2025-10-10", "2025-10-20", "days", "2025-10-10 to 2025-10-20"),
    ("2025-10-01..2025-10-31", WED, "2025-10-01", "2025-10-31", "days", "2025-10-01 to 2025-10-31"),
    ("since 2025-09-01", WED, "2025-09-01", "2025-10-14", "days", "2025-09-01 to 2025-10-14"),
    # named months: the most recent with a complete day (D − 1 in it or before it)
    ("october", WED, "2025-10-01", "2025-10-31", "month", "October 2025"),
    ("oct", WED, "2025-10-01", "2025-10-31", "month", "October 2025"),
    ("october", FIRST, "2024-10-01", "2024-10-31", "month", "October 2024"),
    ("september", FIRST, "2025-09-01", "2025-09-30", "month", "September 2025"),
    ("november", WED, "2024-11-01", "2024-11-30", "month", "November 2024"),
    ("january", NEW_YEAR, "2024-01-01", "2024-01-31", "month", "January 2024"),
    ("december", NEW_YEAR, "2024-12-01", "2024-12-31", "month", "December 2024"),
    ("feb", LEAP_MARCH, "2024-02-01", "2024-02-29", "month", "February 2024"),
    ("sept", WED, "2025-09-01", "2025-09-30", "month", "September 2025"),
    ("October 2025", WED, "2025-10-01", "2025-10-31", "month", "October 2025"),
    ("oct 2023", WED, "2023-10-01", "2023-10-31", "month", "October 2023"),
    ("october, 2024", WED, "2024-10-01", "2024-10-31", "month", "October 2024"),
    ("in october 2024", WED, "2024-10-01", "2024-10-31", "month", "October 2024"),
    ("2025-10", WED, "2025-10-01", "2025-10-31", "month", "October 2025"),
    ("2024-02", WED, "2024-02-01", "2024-02-29", "month", "February 2024"),
    ("2026-01", WED, "2026-01-01", "2026-01-31", "month", "January 2026"),  # future: allowed
    # quarters and years
    ("q3", WED, "2025-07-01", "2025-09-30", "quarter", "Q3 2025"),
    ("q4", WED, "2025-10-01", "2025-12-31", "quarter", "Q4 2025"),
    ("q4", FIRST, "2024-10-01", "2024-12-31", "quarter", "Q4 2024"),
    ("q1 2024", WED, "2024-01-01", "2024-03-31", "quarter", "Q1 2024"),
    ("2024-q2", WED, "2024-04-01", "2024-06-30", "quarter", "Q2 2024"),
    ("2024", WED, "2024-01-01", "2024-12-31", "year", "2024"),
]


@pytest.mark.parametrize(("phrase", "as_of", "start", "end", "kind", "label"), PHRASES)
def test_parse_window(
    phrase: str, as_of: date, start: str, end: str, kind: str, label: str
) -> None:
    assert parse_window(phrase, as_of) == DateWindow(d(start), d(end), label, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phrase", "as_of", "words", "suggestion"),
    [
        ("mtd", FIRST, "mtd is empty on the first day of the month", "last month"),
        ("this month", NEW_YEAR, "mtd is empty", "last month"),
        ("wtd", MONDAY, "wtd is empty on a Monday", "last week"),
        ("qtd", FIRST, "qtd is empty on the first day of the quarter", "last quarter"),
        ("ytd", NEW_YEAR, "ytd is empty on January 1", "last year"),
        ("today", WED, "Today isn't over yet", "yesterday"),
        ("last 0 days", WED, "I can't count 0 days", "last 30 days"),
        ("last 3661 days", WED, "3,661 days", "last 30 days"),
        ("last 99999999999999999999999999 days", WED, "that many days", "last 30 days"),
        ("last " + "9" * 5000 + " days", WED, "that many days", "last 30 days"),  # > int() limit
        ("last 0 weeks", WED, "I can't count 0 weeks", "last 3 weeks"),
        ("last 121 months", WED, "121 months", "last 3 months"),
        ("last 11 years", WED, "11 years", "last 3 years"),
        (
            "2025-10-14..2025-09-14",
            WED,
            "starts (2025-10-14) after it ends",
            "2025-09-14..2025-10-14",
        ),
        ("2000-01-01..2025-01-01", WED, "9,133 days long", "last 365 days"),
        ("2025-02-29", WED, "`2025-02-29` isn't a date", "2025-10-03"),
        ("2025-13-01", WED, "isn't a date", "2025-10-03"),
        ("2025-13", WED, "isn't a month", "2025-10"),
        ("0000", WED, "isn't a year", "2025"),
        ("since 2025-10-15", WED, "no complete day yet", "yesterday"),
    ],
)
def test_parse_window_errors(phrase: str, as_of: date, words: str, suggestion: str) -> None:
    with pytest.raises(WindowError) as caught:
        parse_window(phrase, as_of)
    assert words in caught.value.message
    assert caught.value.suggestion == suggestion
    assert parse_window(caught.value.suggestion, WED) is not None  # the suggestion works


@pytest.mark.parametrize(
    "phrase", ["", "last fortnight", "last week of june", "30", "next week", "2025/10/03", "-3d"]
)
def test_parse_window_unknown_is_none(phrase: str) -> None:
    assert parse_window(phrase, WED) is None


def test_dates_near_year_one_are_window_errors() -> None:
    with pytest.raises(WindowError):
        parse_window("last 30 days", date(1, 1, 10))
    w = DateWindow(date(1, 1, 1), date(1, 1, 31), "January 1", "month")
    with pytest.raises(WindowError):
        previous_window(w)
    with pytest.raises(WindowError):
        same_window_last_year(w)


# --- previous windows -------------------------------------------------------------


def window(phrase: str, as_of: date = WED) -> DateWindow:
    w = parse_window(phrase, as_of)
    assert w is not None
    return w


PREVIOUS = [
    # phrase, as_of, previous start, previous end, label
    ("last 30 days", WED, "2025-08-16", "2025-09-14", "previous 30 days"),
    ("yesterday", WED, "2025-10-13", "2025-10-13", "previous day"),
    ("last 30 days", LEAP_MARCH, "2024-01-01", "2024-01-30", "previous 30 days"),
    ("2025-09-14..2025-10-14", WED, "2025-08-14", "2025-09-13", "previous 31 days"),
    ("2025-10-01..2025-10-31", WED, "2025-08-31", "2025-09-30", "previous 31 days"),
    # whole periods: the same number of whole periods before, compared as totals
    ("last week", WED, "2025-09-29", "2025-10-05", "previous week"),
    ("last 4 weeks", WED, "2025-08-18", "2025-09-14", "previous 4 weeks"),
    ("last month", WED, "2025-08-01", "2025-08-31", "August 2025"),
    ("october", WED, "2025-09-01", "2025-09-30", "September 2025"),
    ("2025-10", WED, "2025-09-01", "2025-09-30", "September 2025"),
    ("last month", NEW_YEAR, "2024-11-01", "2024-11-30", "November 2024"),
    ("2025-01", WED, "2024-12-01", "2024-12-31", "December 2024"),
    ("2024-03", WED, "2024-02-01", "2024-02-29", "February 2024"),
    ("last 3 months", WED, "2025-04-01", "2025-06-30", "previous 3 months"),
    ("q1 2025", WED, "2024-10-01", "2024-12-31", "Q4 2024"),
    ("2024", WED, "2023-01-01", "2023-12-31", "2023"),
    # to-date: METRICS.md's plain rule, the same number of days immediately before
    # (hand-computed: e.g. ytd on 2025-10-15 is 287 days, so 2024-03-20..2024-12-31)
    ("mtd", WED, "2025-09-17", "2025-09-30", "previous 14 days"),
    ("mtd", d("2025-03-31"), "2025-01-30", "2025-02-28", "previous 30 days"),
    ("mtd", d("2024-03-31"), "2024-01-31", "2024-02-29", "previous 30 days"),
    ("mtd", d("2025-01-15"), "2024-12-18", "2024-12-31", "previous 14 days"),
    ("wtd", WED, "2025-10-11", "2025-10-12", "previous 2 days"),
    ("wtd", NEW_YEAR, "2024-12-28", "2024-12-29", "previous 2 days"),
    ("qtd", d("2025-11-15"), "2025-08-17", "2025-09-30", "previous 45 days"),
    ("qtd", d("2025-01-15"), "2024-12-18", "2024-12-31", "previous 14 days"),
    ("ytd", WED, "2024-03-20", "2024-12-31", "previous 287 days"),
    ("ytd", d("2025-03-01"), "2024-11-03", "2024-12-31", "previous 59 days"),
]


@pytest.mark.parametrize(("phrase", "as_of", "start", "end", "label"), PREVIOUS)
def test_previous_window(phrase: str, as_of: date, start: str, end: str, label: str) -> None:
    current = window(phrase, as_of)
    previous = previous_window(current)
    assert (previous.start, previous.end, previous.label) == (d(start), d(end), label)
    to_date = current.kind in {"wtd", "mtd", "qtd", "ytd"}
    assert previous.kind == ("days" if to_date else current.kind)
    if to_date:
        assert previous.days == current.days
    assert previous.end < current.start


# --- same window last year ----------------------------------------------------------

LAST_YEAR = [
    # phrase, as_of, start, end, label
    ("last 30 days", WED, "2024-09-15", "2024-10-14", "last 30 days, a year earlier"),
    # one day: the same weekday 364 days back (Thu Feb 29, 2024 → Thu Mar 2, 2023)
    (
        "yesterday",
        d("2024-03-01"),
        "2023-03-02",
        "2023-03-02",
        "yesterday, same weekday a year earlier",
    ),
    (
        "2024-02-28..2024-03-01",
        WED,
        "2023-02-28",
        "2023-03-01",
        "2024-02-28 to 2024-03-01, a year earlier",
    ),
    (
        "mtd",
        d("2024-03-01").replace(day=20),
        "2023-03-01",
        "2023-03-19",
        "month to date, a year earlier",
    ),
    ("ytd", LEAP_MARCH, "2023-01-01", "2023-02-28", "year to date, a year earlier"),
    # weeks: 364 days back, Monday stays Monday
    ("last week", WED, "2024-10-07", "2024-10-13", "last week, a year earlier"),
    ("last 4 weeks", WED, "2024-09-16", "2024-10-13", "last 4 weeks, a year earlier"),
    ("wtd", WED, "2024-10-14", "2024-10-15", "week to date, a year earlier"),
    # whole calendar periods: the whole same-named period
    ("last month", WED, "2024-09-01", "2024-09-30", "September 2024"),
    ("2025-02", WED, "2024-02-01", "2024-02-29", "February 2024"),
    ("2024-02", WED, "2023-02-01", "2023-02-28", "February 2023"),
    ("last 3 months", WED, "2024-07-01", "2024-09-30", "last 3 months, a year earlier"),
    ("q3 2025", WED, "2024-07-01", "2024-09-30", "Q3 2024"),
    ("2024", WED, "2023-01-01", "2023-12-31", "2023"),
]


@pytest.mark.parametrize(("phrase", "as_of", "start", "end", "label"), LAST_YEAR)
def test_same_window_last_year(phrase: str, as_of: date, start: str, end: str, label: str) -> None:
    current = window(phrase, as_of)
    last_year = same_window_last_year(current)
    assert (last_year.start, last_year.end, last_year.label) == (d(start), d(end), label)
    assert last_year.kind == current.kind
    if current.kind in ("week", "wtd"):
        assert current.start - last_year.start == timedelta(days=364)
        assert last_year.start.weekday() == current.start.weekday()


def test_leap_day_last_year_is_feb_28() -> None:
    w = DateWindow(LEAP_DAY, LEAP_DAY + timedelta(days=1), "leap days")
    assert same_window_last_year(w) == DateWindow(
        d("2023-02-28"), d("2023-03-01"), "leap days, a year earlier"
    )


@pytest.mark.parametrize("day", [LEAP_DAY, WED, d("2025-01-01"), d("2026-11-24")])
def test_a_single_day_last_year_is_the_same_weekday_364_days_back(day: date) -> None:
    last_year = same_window_last_year(DateWindow(day, day, "that day"))
    assert last_year.start == last_year.end == day - timedelta(days=364)
    assert last_year.start.weekday() == day.weekday()
    assert last_year.label == "that day, same weekday a year earlier"


# --- constructors -----------------------------------------------------------------


def test_constructors_match_phrases() -> None:
    assert last_n_days(WED, 30) == window("last 30 days")
    assert last_n_periods(WED, "month", 1) == window("last month")
    assert last_n_periods(WED, "week", 4) == window("last 4 weeks")
    assert period_to_date(WED, "mtd") == window("mtd")


# --- invariants -------------------------------------------------------------------

RELATIVE = [
    "yesterday",
    "last 7 days",
    "last 30 days",
    "last 365 days",
    f"last {MAX_WINDOW_DAYS} days",
    "last week",
    "last 4 weeks",
    "last 52 weeks",
    "last month",
    "last 3 months",
    "last 12 months",
    "last quarter",
    "last 4 quarters",
    "last year",
    "wtd",
    "mtd",
    "qtd",
    "ytd",
]
as_of_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=300, deadline=None)
@given(as_of=as_of_dates, phrase=st.sampled_from(RELATIVE))
def test_relative_windows_are_complete_days_before_as_of(as_of: date, phrase: str) -> None:
    try:
        current = parse_window(phrase, as_of)
    except WindowError as err:  # only to-date windows on a period's first day
        assert phrase in ("wtd", "mtd", "qtd", "ytd") and "is empty" in err.message
        return
    assert current is not None
    assert current.start <= current.end < as_of
    previous = previous_window(current)
    assert previous.start <= previous.end < current.start
    if current.kind in ("days", "week", "month", "quarter", "year"):
        assert previous.end == current.start - timedelta(days=1)
    if current.kind in ("days", "week"):
        assert previous.days == current.days
    if current.kind in ("wtd", "mtd", "qtd", "ytd"):
        assert current.end == as_of - timedelta(days=1)
        assert 1 <= previous.days <= current.days
    last_year = same_window_last_year(current)
    assert last_year.start <= last_year.end
    assert 364 <= (current.start - last_year.start).days <= 366


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    length=st.integers(min_value=1, max_value=MAX_WINDOW_DAYS),
)
def test_day_windows_previous_is_same_length_immediately_before(start: date, length: int) -> None:
    current = DateWindow(start, start + timedelta(days=length - 1), "span")
    previous = previous_window(current)
    assert previous.days == current.days
    assert previous.end == current.start - timedelta(days=1)
    last_year = same_window_last_year(current)
    assert last_year.start <= last_year.end
    assert last_year.days in (current.days - 1, current.days, current.days + 1)
