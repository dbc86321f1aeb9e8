"""Revenue over a window vs a comparison window (pure: mart rows in, dataclasses out).

The input is rows of the ``revenue_daily`` mart (day, orders, revenue). Totals are sums
of the mart's days; AOV is revenue / orders over the whole span, never an average of
daily AOVs (METRICS.md). Days outside the data's coverage are not zeros: they are
reported as uncovered, so a window that runs past the data is never silently compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.core.table import Rows
from bot.core.windows import DateWindow


@dataclass(frozen=True)
class DayValue:
    day: date
    revenue: float


@dataclass(frozen=True)
class WindowTotals:
    window: DateWindow
    revenue: float | None  # None when no day of the window has data
    orders: int | None
    aov: float | None  # None when there were no orders
    covered_days: int
    best_day: DayValue | None
    worst_day: DayValue | None
    daily: Rows  # day, orders, revenue for the covered days, in order

    @property
    def has_data(self) -> bool:
        return self.covered_days > 0

    @property
    def complete(self) -> bool:
        return self.covered_days == self.window.days


@dataclass(frozen=True)
class Change:
    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def delta_pct(self) -> float | None:
        """delta / previous × 100; None ("n/a") when previous is 0 or missing."""
        delta = self.delta
        if delta is None or not self.previous:
            return None
        return delta / self.previous * 100


@dataclass(frozen=True)
class PeriodComparison:
    label: str  # "previous period", "same period last year"
    baseline: WindowTotals
    revenue: Change
    orders: Change
    aov: Change


@dataclass(frozen=True)
class RevenueReport:
    current: WindowTotals
    previous: PeriodComparison
    last_year: PeriodComparison | None
    notes: tuple[str, ...]  # coverage caveats, in plain words

    @property
    def primary(self) -> PeriodComparison:
        """The comparison the question asked for: last year when asked, else the previous
        period. Headlines, charts and key figures follow it; the other is a side line."""
        return self.last_year if self.last_year is not None else self.previous

    @property
    def one_weekday_last_year(self) -> bool:
        """Is last year's window one day, the same weekday 52 weeks back? (A single day
        asked vs last year; a one-day ``mtd`` keeps its calendar date instead.)"""
        if self.last_year is None:
            return False
        base, cur = self.last_year.baseline.window, self.current.window
        return base.days == 1 and (cur.start - base.start).days == 364


def summarize_window(
    daily: Rows, window: DateWindow, first_day: date | None, last_day: date | None
) -> WindowTotals:
    """Totals of the mart rows inside ``window``; only days the data covers count."""
    lo, hi = window.start, window.end
    if first_day is not None and last_day is not None:
        lo, hi = max(lo, first_day), min(hi, last_day)
    days = daily.where(lo <= day <= hi for day in daily["day"]).sorted_by("day")
    days = days.select("day", "orders", "revenue")
    if days.empty:
        return WindowTotals(window, None, None, None, 0, None, None, days)
    revenues = days["revenue"]
    revenue = _float_sum(revenues)
    orders = sum(int(n) for n in days["orders"])
    # The first day of the highest / lowest revenue, as idxmax/idxmin picked it.
    best = max(range(len(revenues)), key=lambda i: (revenues[i], -i))
    worst = min(range(len(revenues)), key=lambda i: (revenues[i], i))
    return WindowTotals(
        window=window,
        revenue=revenue,
        orders=orders,
        aov=revenue / orders if orders else None,
        covered_days=len(days),
        best_day=DayValue(days["day"][best], float(revenues[best])),
        worst_day=DayValue(days["day"][worst], float(revenues[worst])),
        daily=days,
    )


def _float_sum(values: list[float]) -> float:
    """The sum numpy (and pandas before it) computes: pairwise, so the last bits of a
    total, and every figure derived from it, are what they always were."""
    import numpy as np  # the server's base libraries load it anyway (scipy.special)

    return float(np.asarray(values, dtype="float64").sum())


def compare_periods(current: WindowTotals, baseline: WindowTotals, label: str) -> PeriodComparison:
    return PeriodComparison(
        label=label,
        baseline=baseline,
        revenue=Change(current.revenue, baseline.revenue),
        orders=Change(
            None if current.orders is None else float(current.orders),
            None if baseline.orders is None else float(baseline.orders),
        ),
        aov=Change(current.aov, baseline.aov),
    )


def coverage_notes(
    totals: list[WindowTotals], first_day: date | None, last_day: date | None
) -> tuple[str, ...]:
    """Plain-words caveats for windows the data doesn't fully cover."""
    if first_day is None or last_day is None:
        return ("There is no revenue data yet.",)
    notes: list[str] = []
    for t in totals:
        w = t.window
        if t.complete:
            continue
        if not t.has_data:
            notes.append(
                f"No data for {w.label} ({w.start:%Y-%m-%d} to {w.end:%Y-%m-%d}): the data "
                f"covers {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d}."
            )
            continue
        if w.start < first_day:
            notes.append(f"No data before {first_day:%Y-%m-%d}; {w.label} is partly empty.")
        if w.end > last_day:
            notes.append(
                f"Data ends {last_day:%Y-%m-%d}; {w.label} has {t.covered_days} of "
                f"{w.days} days so far."
            )
    return tuple(dict.fromkeys(notes))  # de-duplicated, order kept


def revenue_report(
    daily: Rows,
    current: DateWindow,
    previous: DateWindow,
    last_year: DateWindow | None,
    first_day: date | None,
    last_day: date | None,
) -> RevenueReport:
    cur = summarize_window(daily, current, first_day, last_day)
    prev = summarize_window(daily, previous, first_day, last_day)
    totals = [cur, prev]
    year_comparison = None
    if last_year is not None:
        year = summarize_window(daily, last_year, first_day, last_day)
        totals.append(year)
        year_comparison = compare_periods(cur, year, "same period last year")
    return RevenueReport(
        current=cur,
        previous=compare_periods(cur, prev, "previous period"),
        last_year=year_comparison,
        notes=coverage_notes(totals, first_day, last_day),
    )
