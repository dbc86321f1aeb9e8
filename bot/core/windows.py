"""Date windows: inclusive day spans, their comparison windows, and window phrases.

Pure: no clock, no environment, no I/O. Every relative window is anchored at an as-of
date D passed in by the caller (today in the reporting time zone), and covers complete
days only, so the latest day any relative window reaches is D − 1 (METRICS.md, Revenue).

Each window carries a ``kind`` that says what shape it has, so comparison windows are
decided structurally, never from the label text:

``days``
    any span of days (``last 30 days``, ``yesterday``, explicit dates and ranges).
``week`` / ``month`` / ``quarter`` / ``year``
    one or more whole calendar periods (Monday-start weeks), e.g. ``last week``,
    ``last 4 weeks``, ``last month``, ``october``, ``2025-10``, ``q3 2025``, ``2024``.
``wtd`` / ``mtd`` / ``qtd`` / ``ytd``
    the first days of one period: it starts on the period's first day and ends on or
    before its last day (``mtd`` = first of D's month .. D − 1).

Comparison rules (see ``previous_window`` and ``same_window_last_year``):

* ``days``: the same number of days immediately before, ``[start − n, start − 1]``.
* whole periods: the same number of whole periods immediately before, compared as
  totals (``last month`` → the month before; ``last 4 weeks`` → the 4 weeks before).
* to-date windows: the same number of days from the start of the previous period
  (``mtd`` on Oct 15 = Oct 1–14 → Sep 1–14), clamped to that period's end.
* last year: whole weeks, week-to-date and single days shift back 364 days (weekdays
  stay aligned);
  everything else moves to the same calendar dates a year earlier (Feb 29 → Feb 28;
  whole months, quarters and years map to the whole period a year earlier).

Window phrases (``parse_window``) are matched on lower-case text with single spaces.
Recognised phrases that cannot make a window (``mtd`` on the 1st, ``last 0 days``,
start after end) raise ``WindowError`` with a plain-words message and a phrase that
works; text that isn't a window phrase at all gives ``None``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args

Period = Literal["week", "month", "quarter", "year"]
ToDate = Literal["wtd", "mtd", "qtd", "ytd"]
WindowKind = Literal["days", "week", "month", "quarter", "year", "wtd", "mtd", "qtd", "ytd"]

PERIODS: tuple[Period, ...] = get_args(Period)
KINDS: tuple[WindowKind, ...] = get_args(WindowKind)
TO_DATE_PERIOD: dict[str, Period] = {
    "wtd": "week",
    "mtd": "month",
    "qtd": "quarter",
    "ytd": "year",
}
MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}

# The longest window answered, about ten years: bounds every N so a typo like
# `last 300000 days` is a friendly error, not a date overflow or a huge query.
MAX_WINDOW_DAYS = 3660
MAX_PERIODS: dict[Period, int] = {"week": 522, "month": 120, "quarter": 40, "year": 10}

# Spelled out, not calendar.month_name: that follows the process locale.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTH_NAMES = {name.lower(): i for i, name in enumerate(MONTHS, start=1)}
MONTH_NAMES |= {name[:3].lower(): i for i, name in enumerate(MONTHS, start=1)}
MONTH_NAMES["sept"] = 9


class WindowError(ValueError):
    """A window phrase that was understood but can't make a window.

    ``message`` is plain words (no user text, safe to show as is); ``suggestion`` is a
    window phrase that works, e.g. ``"last month"``.
    """

    def __init__(self, message: str, suggestion: str = "last 30 days") -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


@dataclass(frozen=True)
class DateWindow:
    """An inclusive span of days ``[start, end]`` with a label for people."""

    start: date
    end: date
    label: str
    kind: WindowKind = "days"

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise TypeError(f"DateWindow.{name} must be a date, got {type(value).__name__}")
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")
        if self.kind not in KINDS:
            raise ValueError(f"unknown window kind {self.kind!r}")
        problem = _shape_problem(self.start, self.end, self.kind)
        if problem:
            raise ValueError(f"{self.kind} window {self.start}..{self.end}: {problem}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


# --- calendar helpers -------------------------------------------------------------


def shift_days(day: date, days: int) -> date:
    """``day + days``, as a ``WindowError`` when it leaves the years 1–9999."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise WindowError("That date is outside the years 1–9999 I can count.") from None


def period_start(day: date, period: Period) -> date:
    """First day of the period containing ``day`` (weeks start on Monday)."""
    if period == "week":
        return shift_days(day, -day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def period_end(day: date, period: Period) -> date:
    """Last day of the period containing ``day``."""
    if period == "week":
        return shift_days(period_start(day, "week"), 6)
    if period == "year":
        return date(day.year, 12, 31)
    last_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 3
    return date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


def add_periods(start: date, period: Period, count: int) -> date:
    """The first day of the period ``count`` periods after the one starting at ``start``."""
    if period == "week":
        return shift_days(start, 7 * count)
    index = start.year * 12 + start.month - 1 + count * MONTHS_PER_PERIOD[period]
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise WindowError("That date is outside the years 1–9999 I can count.")
    return date(year, month0 + 1, 1)


def period_count(start: date, end: date, period: Period) -> int:
    """How many whole periods a whole-period window spans."""
    if period == "week":
        return ((end - start).days + 1) // 7
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return months // MONTHS_PER_PERIOD[period]


def _shape_problem(start: date, end: date, kind: WindowKind) -> str:
    if kind == "days":
        return ""
    if kind in TO_DATE_PERIOD:
        period = TO_DATE_PERIOD[kind]
        if start != period_start(start, period):
            return f"must start on the first day of a {period}"
        if end > period_end(start, period):
            return f"must end within the {period} it starts"
        return ""
    period: Period = kind  # type: ignore[assignment]
    if start != period_start(start, period):
        return f"must start on the first day of a {period}"
    # Weeks: a Sunday (period_end would overflow on the last week of year 9999).
    ends_whole = end.weekday() == 6 if period == "week" else end == period_end(end, period)
    if not ends_whole:
        return f"must end on the last day of a {period}"
    return ""


# --- labels -----------------------------------------------------------------------


def period_name(start: date, period: Period) -> str:
    """``September 2025``, ``Q3 2025``, ``2025``, ``week of 2025-10-06``."""
    if period == "month":
        return f"{MONTHS[start.month - 1]} {start.year}"
    if period == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if period == "year":
        return str(start.year)
    return f"week of {start:%Y-%m-%d}"


def span_text(start: date, end: date) -> str:
    return f"{start:%Y-%m-%d}" if start == end else f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


# --- comparison windows -----------------------------------------------------------


def previous_window(w: DateWindow) -> DateWindow:
    """The window ``w`` is compared with ("previous period").

    * ``days``: the same number of days immediately before, ``[start − n, start − 1]``
      (METRICS.md).
    * whole weeks/months/quarters/years: the same number of whole periods immediately
      before, compared as totals. For weeks this is exactly ``[start − n, start − 1]``;
      for months it is METRICS.md's "last month → the month before it" (a 31-day
      October is compared with a 30-day September), extended to quarters and years.
    * to-date windows (wtd/mtd/qtd/ytd) of n days: the plain rule, the n days
      immediately before (METRICS.md's general rule; only calendar months are singled
      out there). ``mtd`` on Oct 15 (Oct 1–14) is compared with Sep 17–30. For "same
      days of the previous month", ask for the explicit range.

    Raises ``WindowError`` only when the previous window would fall before year 1.
    """
    n = w.days
    if w.kind == "days" or w.kind in TO_DATE_PERIOD:
        start, end = shift_days(w.start, -n), shift_days(w.start, -1)
        label = "previous day" if n == 1 else f"previous {n} days"
        return DateWindow(start, end, label, "days")
    period: Period = w.kind  # type: ignore[assignment]
    count = period_count(w.start, w.end, period)
    start, end = add_periods(w.start, period, -count), shift_days(w.start, -1)
    if count == 1:
        label = "previous week" if period == "week" else period_name(start, period)
    else:
        label = f"previous {_plural(count, period)}"
    return DateWindow(start, end, label, w.kind)


def _year_earlier(day: date) -> date:
    if day.year <= 1:
        raise WindowError("That date is outside the years 1–9999 I can count.")
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def same_window_last_year(w: DateWindow) -> DateWindow:
    """The same window one year earlier ("same period last year").

    * whole weeks, week-to-date and single days (``days`` windows of one day, e.g.
      ``yesterday``, ``2025-10-03``): shifted back 364 days (52 weeks), so
      Monday-start weeks stay whole and every day is compared with the same weekday (a
      Tuesday with a Tuesday, as the digest does: revenue follows the weekday).
    * whole months, quarters and years: the whole same-named period a year earlier
      (February 2025 → all 29 days of February 2024).
    * everything else (day spans, mtd/qtd/ytd): the same calendar dates a year
      earlier, with Feb 29 mapped to Feb 28 (so a span may lose that one day).

    Raises ``WindowError`` only when the window would fall before year 1.
    """
    label = f"{w.label}, a year earlier"
    one_day = w.kind == "days" and w.days == 1  # (a one-day mtd keeps the month's shape)
    if w.kind in ("week", "wtd") or one_day:
        start, end = shift_days(w.start, -364), shift_days(w.end, -364)
        if one_day:
            label = f"{w.label}, same weekday a year earlier"
        return DateWindow(start, end, label, w.kind)
    if w.kind in MONTHS_PER_PERIOD:
        period: Period = w.kind  # type: ignore[assignment]
        start = add_periods(w.start, "month", -12)
        end = period_end(add_periods(period_start(w.end, period), "month", -12), period)
        if period_count(start, end, period) == 1:
            label = period_name(start, period)
        return DateWindow(start, end, label, w.kind)
    return DateWindow(_year_earlier(w.start), _year_earlier(w.end), label, w.kind)


# --- relative and explicit windows ----------------------------------------------


def _check_count(count: int, unit: Period | Literal["day"]) -> None:
    limit = MAX_WINDOW_DAYS if unit == "day" else MAX_PERIODS[unit]
    if not 1 <= count <= limit:
        shown = f"{count:,}" if count < 10**9 else "that many"
        raise WindowError(
            f"I can't count {shown} {unit}s: `last N {unit}s` takes N from 1 to {limit:,} "
            f"(I look back at most {MAX_WINDOW_DAYS:,} days, about ten years).",
            "last 30 days" if unit == "day" else f"last 3 {unit}s",
        )


def last_n_days(as_of: date, n: int) -> DateWindow:
    """``[D − n, D − 1]``: the n complete days before the as-of date."""
    _check_count(n, "day")
    label = "yesterday" if n == 1 else f"last {n} days"
    return DateWindow(shift_days(as_of, -n), shift_days(as_of, -1), label, "days")


def yesterday(as_of: date) -> DateWindow:
    return last_n_days(as_of, 1)


def last_n_periods(as_of: date, period: Period, n: int) -> DateWindow:
    """The n whole periods before the one containing D.

    ``last week`` is the previous Monday–Sunday week; ``last 4 weeks`` the four whole
    Monday–Sunday weeks before D's week (not the 28 days ending D − 1: that way
    ``last 1 week`` is ``last week``, and weeks line up with the weekly retention
    cohorts and digest). ``last month`` is the whole previous calendar month, ``last 3
    months`` the three whole months before D's month; quarters and years likewise.
    For a rolling span use days: ``last 28 days``.
    """
    _check_count(n, period)
    current = period_start(as_of, period)
    start, end = add_periods(current, period, -n), shift_days(current, -1)
    if n == 1:
        label = "last week" if period == "week" else period_name(start, period)
    else:
        label = f"last {n} {period}s"
    return DateWindow(start, end, label, period)


TO_DATE_LABELS = {
    "wtd": "week to date",
    "mtd": "month to date",
    "qtd": "quarter to date",
    "ytd": "year to date",
}
_EMPTY_TO_DATE = {
    "wtd": ("on a Monday", "last week"),
    "mtd": ("on the first day of the month", "last month"),
    "qtd": ("on the first day of the quarter", "last quarter"),
    "ytd": ("on January 1", "last year"),
}


def period_to_date(as_of: date, kind: ToDate) -> DateWindow:
    """First day of D's week/month/quarter/year .. D − 1 (complete days only).

    Empty on the period's first day (a Monday for wtd, the 1st for mtd, …): that is a
    ``WindowError`` suggesting the whole previous period instead.
    """
    period = TO_DATE_PERIOD[kind]
    start = period_start(as_of, period)
    if start == as_of:
        when, instead = _EMPTY_TO_DATE[kind]
        raise WindowError(f"{kind} is empty {when} — try `{instead}`.", instead)
    return DateWindow(start, shift_days(as_of, -1), TO_DATE_LABELS[kind], kind)


def whole_period(start: date, period: Period) -> DateWindow:
    """One whole calendar period starting at ``start`` (its first day)."""
    return DateWindow(start, period_end(start, period), period_name(start, period), period)


def most_recent_month(month: int, as_of: date) -> DateWindow:
    """The most recent month named ``month`` that has at least one complete day.

    That is the current month when D − 1 is in it (``october`` on Oct 15 is October
    this year, days after D − 1 included: the answer says the data isn't complete),
    otherwise the last one before: ``october`` on Oct 1 or in September is last year's.
    """
    latest = shift_days(as_of, -1)
    year = latest.year if month <= latest.month else latest.year - 1
    if year < 1:
        raise WindowError("That date is outside the years 1–9999 I can count.")
    return whole_period(date(year, month, 1), "month")


def most_recent_quarter(quarter: int, as_of: date) -> DateWindow:
    """Like ``most_recent_month``, for ``q1``..``q4``."""
    latest = shift_days(as_of, -1)
    month = 3 * (quarter - 1) + 1
    year = latest.year if month <= latest.month else latest.year - 1
    if year < 1:
        raise WindowError("That date is outside the years 1–9999 I can count.")
    return whole_period(date(year, month, 1), "quarter")


def explicit_window(start: date, end: date) -> DateWindow:
    """Dates as typed: a ``days`` window even when it happens to be a whole month, so
    it is compared with the same number of days just before. Ends after D − 1 are
    allowed (the answer says how much of it has data)."""
    if end < start:
        raise WindowError(
            f"The window starts ({start:%Y-%m-%d}) after it ends ({end:%Y-%m-%d}).",
            f"{end:%Y-%m-%d}..{start:%Y-%m-%d}",
        )
    days = (end - start).days + 1
    if days > MAX_WINDOW_DAYS:
        raise WindowError(
            f"That window is {days:,} days long; the most I answer is "
            f"{MAX_WINDOW_DAYS:,} days (about ten years).",
            "last 365 days",
        )
    return DateWindow(start, end, span_text(start, end), "days")


# --- window phrases ---------------------------------------------------------------

_LAST = r"(?:(?:the )?(?:last|past|previous|prior|trailing) )"
_DATE = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_MONTH_WORDS = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))
_UNITS: dict[str, Period | Literal["day"]] = {
    **dict.fromkeys(("d", "day", "days"), "day"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "week"),
    **dict.fromkeys(("mo", "mos", "mth", "mths", "month", "months"), "month"),
    **dict.fromkeys(("q", "qtr", "qtrs", "quarter", "quarters"), "quarter"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "year"),
}
_UNIT_WORDS = "|".join(sorted(_UNITS, key=len, reverse=True))

_RE_LAST_N = re.compile(rf"{_LAST}?([0-9]+) ?({_UNIT_WORDS})|{_LAST}([0-9]+)")
_RE_LAST_ONE = re.compile(rf"{_LAST}(day|week|month|quarter|year)")
_RE_TO_DATE = re.compile(
    r"(?:this (week|month|quarter|year)|(week|month|quarter|year)[ -]to[ -]date)"
)
_RE_RANGE = re.compile(rf"(?:from )?{_DATE} ?(?:\.\.\.?|to|until|through|-|–|—) ?{_DATE}")
_RE_DATE = re.compile(rf"(?:on )?{_DATE}")
_RE_SINCE = re.compile(rf"(?:since|from) {_DATE}")
_RE_YEAR_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_RE_MONTH_NAME = re.compile(rf"({_MONTH_WORDS})\.?(?: ([0-9]{{4}}))?")
_RE_QUARTER = re.compile(r"q([1-4])(?: ([0-9]{4}))?|([0-9]{4}) ?-?q([1-4])")
_RE_YEAR = re.compile(r"[0-9]{4}")
_FILLER = re.compile(r"^(?:(?:for|in|over|during) )?(?:the )?")


def _day(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise WindowError(
            f"`{int(year):04d}-{int(month):02d}-{int(day):02d}` isn't a date on the calendar.",
            "2025-10-03",
        ) from None


def _month(year: str, month: str) -> date:
    if not 1 <= int(month) <= 12 or int(year) < 1:
        raise WindowError(f"`{year}-{month}` isn't a month I know.", "2025-10")
    return date(int(year), int(month), 1)


def normalize(text: str) -> str:
    """Lower case, single spaces, no commas."""
    return " ".join(text.lower().replace(",", " ").split())


def parse_window(text: str, as_of: date) -> DateWindow | None:
    """A window phrase → window anchored at ``as_of`` (D).

    Returns ``None`` when ``text`` isn't a window phrase I know; raises ``WindowError``
    when it is one but can't make a window. Forms (case and spacing don't matter):

    * ``yesterday``; ``last N days`` (also ``past``/``previous``, ``30d``, ``30 days``)
    * ``last week``/``month``/``quarter``/``year``, ``last N weeks``/``months``/…
      (whole calendar periods before D's; weeks start on Monday)
    * ``wtd``/``mtd``/``qtd``/``ytd``, ``this month``, ``month to date``
    * ``2025-10-03``; ``2025-09-14..2025-10-14`` (also ``to``, ``-``, ``–``);
      ``since 2025-09-01`` (.. D − 1)
    * ``october``/``oct`` (most recent with a complete day), ``october 2025``,
      ``2025-10``; ``q3``, ``q3 2025``, ``2025-q3``; ``2025``
    """
    phrase = _FILLER.sub("", normalize(text).rstrip("?! "), count=1)
    if phrase == "yesterday":
        return yesterday(as_of)
    if phrase == "today":
        raise WindowError(
            "Today isn't over yet and I only count complete days — try `yesterday` or `wtd`.",
            "yesterday",
        )
    if phrase in TO_DATE_PERIOD:
        return period_to_date(as_of, phrase)  # type: ignore[arg-type]
    if m := _RE_TO_DATE.fullmatch(phrase):
        period = m.group(1) or m.group(2)
        return period_to_date(as_of, f"{period[0]}td")  # type: ignore[arg-type]
    if m := _RE_LAST_ONE.fullmatch(phrase):
        unit = m.group(1)
        return yesterday(as_of) if unit == "day" else last_n_periods(as_of, unit, 1)  # type: ignore[arg-type]
    if m := _RE_LAST_N.fullmatch(phrase):
        # `last 30` means days; digits are capped before int() (no 4300-digit limit).
        digits, unit = m.group(1) or m.group(3), _UNITS[m.group(2) or "days"]
        count = int(digits) if len(digits) <= 9 else 10**9
        if unit == "day":
            return last_n_days(as_of, count)
        return last_n_periods(as_of, unit, count)
    if m := _RE_RANGE.fullmatch(phrase):
        return explicit_window(_day(*m.group(1, 2, 3)), _day(*m.group(4, 5, 6)))
    if m := _RE_SINCE.fullmatch(phrase):
        start, end = _day(*m.groups()), shift_days(as_of, -1)
        if start > end:
            raise WindowError(
                f"`since {start:%Y-%m-%d}` has no complete day yet (the latest is {end:%Y-%m-%d}).",
                "yesterday",
            )
        return explicit_window(start, end)
    if m := _RE_DATE.fullmatch(phrase):
        day = _day(*m.groups())
        return explicit_window(day, day)
    if m := _RE_YEAR_MONTH.fullmatch(phrase):
        return whole_period(_month(*m.groups()), "month")
    if m := _RE_MONTH_NAME.fullmatch(phrase):
        month = MONTH_NAMES[m.group(1)]
        if m.group(2) is None:
            return most_recent_month(month, as_of)
        return whole_period(_month(m.group(2), str(month)), "month")
    if m := _RE_QUARTER.fullmatch(phrase):
        quarter, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if year is None:
            return most_recent_quarter(int(quarter), as_of)
        return whole_period(_month(year, str(3 * int(quarter) - 2)), "quarter")
    if _RE_YEAR.fullmatch(phrase):
        if int(phrase) < 1:
            raise WindowError(f"`{phrase}` isn't a year I know.", "2025")
        return whole_period(date(int(phrase), 1, 1), "year")
    return None
