"""Weekly cohort retention summaries (pure: mart rows in, dataclasses out).

Input rows are the ``retention_weekly`` mart: one per complete (cohort_week, week_n)
cell, with cohort_size and active_users beside the rate, so every figure here is
recomputed from counts. Averages across cohorts are pooled (Σ active / Σ cohort size),
i.e. weighted by cohort size, so a tiny cohort can't swing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from bot.core.stats import two_proportion_test

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
    cells: pd.DataFrame  # the shown cohorts' mart rows
    matrix: pd.DataFrame  # index cohort_week, columns week_n 0..12, rate or NaN (absent)
    cohort_sizes: pd.Series  # index cohort_week
    week1: PooledRate
    week4: PooledRate
    trend: Trend | None

    @property
    def cohorts(self) -> list[date]:
        return list(self.matrix.index)


def pooled(cells: pd.DataFrame, week_n: int) -> PooledRate:
    """Pooled retention at ``week_n`` over the cohorts that have that (complete) cell."""
    at_week = cells[cells["week_n"] == week_n]
    return PooledRate(
        active_users=int(at_week["active_users"].sum()),
        users=int(at_week["cohort_size"].sum()),
        cohorts=len(at_week),
    )


def week_trend(
    cells: pd.DataFrame,
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
    at_week = cells[cells["week_n"] == week_n].sort_values("cohort_week")
    if complete_by is not None:
        # Week n of a cohort starting on Monday M is M + 7n .. M + 7n + 6.
        ends = [_as_date(c) + timedelta(days=7 * week_n + 6) for c in at_week["cohort_week"]]
        at_week = at_week[[end <= complete_by for end in ends]]
    if len(at_week) < recent + 1:
        return None
    recent_rows = at_week.tail(recent)
    baseline_rows = at_week.iloc[:-recent].tail(baseline)
    recent_rate = pooled(recent_rows, week_n)
    baseline_rate = pooled(baseline_rows, week_n)
    test = two_proportion_test(
        recent_rate.active_users,
        recent_rate.users,
        baseline_rate.active_users,
        baseline_rate.users,
    )
    latest = _as_date(recent_rows["cohort_week"].iloc[-1])
    return Trend(week_n, recent_rate, baseline_rate, test, alpha, latest)


def _as_date(value) -> date:
    return pd.Timestamp(value).date()


def retention_report(mart_rows: pd.DataFrame, cohorts: int = 12) -> RetentionReport:
    """Summarise the ``cohorts`` most recent cohorts; the trend compares shown cohorts
    only (the latest four with a week-1 cell vs the shown ones before them)."""
    all_cells = mart_rows.sort_values(["cohort_week", "week_n"])
    shown_weeks = sorted(all_cells["cohort_week"].unique())[-cohorts:] if cohorts > 0 else []
    cells = all_cells[all_cells["cohort_week"].isin(shown_weeks)].reset_index(drop=True)
    matrix = (
        cells.pivot(index="cohort_week", columns="week_n", values="retention_rate")
        .reindex(index=shown_weeks, columns=list(WEEKS))
        .astype("float64")
    )
    sizes = cells.groupby("cohort_week")["cohort_size"].max().reindex(shown_weeks)
    return RetentionReport(
        cells=cells,
        matrix=matrix,
        cohort_sizes=sizes,
        week1=pooled(cells, 1),
        week4=pooled(cells, 4),
        trend=week_trend(cells, 1),
    )
