"""Weekly cohort retention summaries (pure: mart rows in, dataclasses out).

Input rows are the ``retention_weekly`` mart: one per complete (cohort_week, week_n)
cell, with cohort_size and active_users beside the rate, so every figure here is
recomputed from counts. Averages across cohorts are pooled (Σ active / Σ cohort size),
i.e. weighted by cohort size, so a tiny cohort can't swing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.stats import two_proportion_test
from bot.core.table import Grid, Rows, as_date

WEEKS = range(13)  # week_n 0..12, as in the mart
TREND_RECENT_COHORTS = 4
TREND_BASELINE_COHORTS = 8


@dataclass(frozen=True)
class PooledRate:
    active_users: int
    users: int
    cohorts: int

    @property
    def rate(self) -> float | None:
        return self.active_users / self.users if self.users else None


@dataclass(frozen=True)
class Trend:
    """Week-n retention of the most recent cohorts having that cell vs the ones before
    them, pooled. ``/kpi retention`` and the digest both use it (``week_trend``)."""

    week_n: int
    recent: PooledRate
    baseline: PooledRate
    p_value: float | None  # two-sided pooled two-proportion z-test
    alpha: float
    latest_cohort: date  # the newest cohort in ``recent``

    @property
    def difference(self) -> float | None:
        if self.recent.rate is None or self.baseline.rate is None:
            return None
        return self.recent.rate - self.baseline.rate

    @property
    def direction(self) -> str:
        """'better', 'worse' or 'about the same' (not significant at alpha)."""
        diff = self.difference
        if diff is None or self.p_value is None or self.p_value >= self.alpha:
            return "about the same"
        return "better" if diff > 0 else "worse"


@dataclass(frozen=True)
class RetentionReport:
    cells: Rows  # the shown cohorts' mart rows
    matrix: Grid  # index cohort_week, columns week_n 0..12, rate or NaN (absent)
    cohort_sizes: dict[date, int]  # by cohort_week
    week1: PooledRate
    week4: PooledRate
    trend: Trend | None

    @property
    def cohorts(self) -> list[date]:
        return list(self.matrix.index)


def pooled(cells: Rows, week_n: int) -> PooledRate:
    """Pooled retention at ``week_n`` over the cohorts that have that (complete) cell."""
    at_week = [r for r in cells.records() if r["week_n"] == week_n]
    return PooledRate(
        active_users=sum(int(r["active_users"]) for r in at_week),
        users=sum(int(r["cohort_size"]) for r in at_week),
        cohorts=len(at_week),
    )


def week_trend(
    cells: Rows,
    week_n: int = 1,
    recent: int = TREND_RECENT_COHORTS,
    baseline: int = TREND_BASELINE_COHORTS,
    alpha: float = 0.05,
    complete_by: date | None = None,
) -> Trend | None:
    """Compare the latest ``recent`` cohorts having a ``week_n`` cell with up to
    ``baseline`` cohorts just before them, among ``cells`` only (and, with
    ``complete_by``, only cohorts whose week ``week_n`` ended by that day). None when
    there aren't enough cohorts to compare."""
    at_week = cells.where(n == week_n for n in cells["week_n"]).sorted_by("cohort_week")
    if complete_by is not None:
        # Week n of a cohort starting on Monday M is M + 7n .. M + 7n + 6.
        ends = [_as_date(c) + timedelta(days=7 * week_n + 6) for c in at_week["cohort_week"]]
        at_week = at_week.where(end <= complete_by for end in ends)
    if len(at_week) < recent + 1:
        return None
    split = len(at_week) - recent  # as DataFrame.tail(recent) and the rows before it
    before = at_week.data[:split]
    recent_rows = Rows(at_week.columns, at_week.data[split:])
    baseline_rows = Rows(at_week.columns, before[max(0, len(before) - baseline) :])
    recent_rate = pooled(recent_rows, week_n)
    baseline_rate = pooled(baseline_rows, week_n)
    test = two_proportion_test(
        recent_rate.active_users,
        recent_rate.users,
        baseline_rate.active_users,
        baseline_rate.users,
    )
    latest = _as_date(recent_rows["cohort_week"][-1])
    return Trend(week_n, recent_rate, baseline_rate, test, alpha, latest)


def _as_date(value) -> date:
    day = as_date(value)
    assert day is not None, "a cohort week is never NULL"
    return day


def retention_report(mart_rows: Rows, cohorts: int = 12) -> RetentionReport:
    """Summarise the ``cohorts`` most recent cohorts; the trend compares shown cohorts
    only (the latest four with a week-1 cell vs the shown ones before them)."""
    all_cells = mart_rows.sorted_by("cohort_week", "week_n")
    shown_weeks = sorted(set(all_cells["cohort_week"]))[-cohorts:] if cohorts > 0 else []
    shown = set(shown_weeks)
    cells = all_cells.where(week in shown for week in all_cells["cohort_week"])
    rates: dict[date, dict[int, float]] = {week: {} for week in shown_weeks}
    sizes: dict[date, int] = {}
    for r in cells.records():
        rates[r["cohort_week"]][r["week_n"]] = float(r["retention_rate"])
        sizes[r["cohort_week"]] = max(sizes.get(r["cohort_week"], 0), int(r["cohort_size"]))
    matrix = Grid(
        index=tuple(shown_weeks),
        columns=tuple(WEEKS),
        values=tuple(tuple(rates[w].get(n, math.nan) for n in WEEKS) for w in shown_weeks),
    )
    return RetentionReport(
        cells=cells,
        matrix=matrix,
        cohort_sizes=sizes,
        week1=pooled(cells, 1),
        week4=pooled(cells, 4),
        trend=week_trend(cells, 1),
    )
