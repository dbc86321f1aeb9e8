"""What goes into a weekly digest, gathered through ``KpiService`` (never the warehouse).

``gather_content(kpi, as_of)`` asks the service the same questions a person could ask
with ``/kpi`` and keeps the answers, plus the few figures only the digest shows:

* revenue, orders and AOV of the last complete Monday–Sunday week before ``as_of``, vs
  the week before and vs the same week a year earlier (52 weeks back, same weekdays);
* unusual days of that week (``bot.core.anomalies``: median ± 3 robust SD of the same
  weekday over the previous 8 weeks), read from 9 weeks of daily revenue;
* a one-line verdict for every experiment with exposures during the week;
* week-1 retention of the latest cohort whose week 1 is complete by the week's end,
  vs the pooled average of the 8 cohorts before it;
* the week's session funnel vs the week before (``/kpi funnel``'s answer: overall
  conversion and each step's change, Holm-adjusted);
* the data's freshness.

Each part fails on its own: a warehouse error in one becomes a line saying so, and the
rest of the digest still goes out. Turning this into Block Kit is ``bot.digest.blocks``
(pure).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.answers import (
    Chart,
    ErrorAnswer,
    ExperimentAnswer,
    ExperimentListAnswer,
    Freshness,
    FunnelAnswer,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core import anomalies
from bot.core.questions import (
    ExperimentQuestion,
    FunnelQuestion,
    RetentionQuestion,
    RevenueQuestion,
)
from bot.core.retention import Trend, week_trend
from bot.core.table import Rows
from bot.core.windows import DateWindow, previous_window, same_window_last_year
from bot.digest.schedule import DigestPeriod
from bot.render.charts import digest_revenue_chart
from bot.render.summary import progress_text
from bot.render.verdicts import verdict_text
from bot.service import KpiService

log = logging.getLogger("bot.digest")

BASELINE_COHORTS = 8
MAX_EXPERIMENTS = 10
RETENTION_COHORTS = 12  # most recent cohorts asked for (more when as_of is in the past)
MAX_RETENTION_COHORTS = 52


@dataclass(frozen=True)
class ExperimentLine:
    experiment_id: str
    verdict_kind: str  # winner | loser | no_difference | srm | not_testable
    verdict: str
    users: int
    srm_flagged: bool
    srm_p_value: float | None
    # While the always-valid test runs: how far along its plan ("day 12 of 28, 61 % of
    # planned users"), as /kpi ab shows it; None at a fixed horizon.
    progress: str | None = None


@dataclass(frozen=True)
class Week1Retention:
    """Week-1 retention of the latest complete cohort vs the cohorts before it: the same
    pooled statistic as ``/kpi retention``'s trend (``bot.core.retention.week_trend``)."""

    trend: Trend

    @property
    def cohort_week(self) -> date:
        return self.trend.latest_cohort

    @property
    def cohort_size(self) -> int:
        return self.trend.recent.users

    @property
    def active_users(self) -> int:
        return self.trend.recent.active_users

    @property
    def baseline_cohorts(self) -> int:
        return self.trend.baseline.cohorts

    @property
    def baseline_size(self) -> int:
        return self.trend.baseline.users

    @property
    def p_value(self) -> float | None:
        return self.trend.p_value

    @property
    def rate(self) -> float | None:
        return self.trend.recent.rate

    @property
    def baseline_rate(self) -> float | None:
        return self.trend.baseline.rate

    @property
    def difference(self) -> float | None:
        return self.trend.difference


@dataclass(frozen=True)
class DigestContent:
    period: DigestPeriod
    revenue: RevenueAnswer | ErrorAnswer
    day_checks: tuple[anomalies.DayCheck, ...]
    anomaly_settings: anomalies.AnomalySettings
    experiments: tuple[ExperimentLine, ...]
    experiments_error: str | None
    more_experiments: int  # running experiments left out of the message (too many)
    retention: Week1Retention | None
    retention_error: str | None
    freshness: Freshness | None
    charts: tuple[Chart, ...] = field(default=())
    funnel: FunnelAnswer | ErrorAnswer | None = None  # the week's funnel vs the week before

    @property
    def week(self) -> DateWindow:
        return self.period.week

    @property
    def has_chart(self) -> bool:
        """Whether the posted digest has a chart (a preview, drawn without, says the same)."""
        return isinstance(self.revenue, RevenueAnswer)

    @property
    def unusual_days(self) -> list[anomalies.DayCheck]:
        return anomalies.anomalies(self.day_checks)


def gather_content(
    kpi: KpiService,
    period: DigestPeriod,
    settings: anomalies.AnomalySettings = anomalies.DEFAULT_SETTINGS,
    *,
    charts: bool = True,
) -> DigestContent:
    """``charts=False`` skips drawing the chart (a preview shows the blocks only)."""
    week = period.week
    revenue = kpi.answer(
        RevenueQuestion(week, previous_window(week), same_window_last_year(week)), charts=False
    )
    checks = _day_checks(kpi, week, settings)
    lines, more, experiments_error = _experiments(kpi, week)
    retention, retention_error = _retention(kpi, period)
    funnel = kpi.answer(FunnelQuestion(week, previous_window(week)), charts=False)
    freshness = getattr(revenue, "freshness", None)
    chart_list: tuple[Chart, ...] = ()
    if charts and isinstance(revenue, RevenueAnswer):
        unusual = [c.day for c in anomalies.anomalies(checks)]
        chart_list = (digest_revenue_chart(revenue, unusual, kpi.render),)
    return DigestContent(
        period=period,
        revenue=revenue,
        day_checks=tuple(checks),
        anomaly_settings=settings,
        experiments=tuple(lines),
        experiments_error=experiments_error,
        more_experiments=more,
        retention=retention,
        retention_error=retention_error,
        freshness=freshness,
        charts=chart_list,
        funnel=funnel if isinstance(funnel, FunnelAnswer | ErrorAnswer) else None,
    )


def _day_checks(
    kpi: KpiService, week: DateWindow, settings: anomalies.AnomalySettings
) -> list[anomalies.DayCheck]:
    """Daily revenue of the week and the ``history_weeks`` before it, through the service."""
    start = week.start - timedelta(weeks=settings.history_weeks)
    history = DateWindow(start, week.end, f"{settings.history_weeks + 1} weeks", "days")
    answer = kpi.answer(RevenueQuestion(history, previous_window(history)), charts=False)
    if not isinstance(answer, RevenueAnswer):
        return []
    series = daily_series(answer.report.current.daily)
    return anomalies.check_days(series, week.dates(), settings)


def daily_series(daily: Rows) -> dict[date, float]:
    return {day: float(rev) for day, rev in zip(daily["day"], daily["revenue"], strict=True)}


def _experiments(kpi: KpiService, week: DateWindow) -> tuple[list[ExperimentLine], int, str | None]:
    listing = kpi.answer(ExperimentQuestion(None), charts=False)
    if isinstance(listing, ErrorAnswer):
        return [], 0, listing.message
    assert isinstance(listing, ExperimentListAnswer)
    running = [e for e in listing.experiments if _ran_during(e, week)]
    lines: list[ExperimentLine] = []
    for info in running[:MAX_EXPERIMENTS]:
        answer = kpi.answer(ExperimentQuestion(info.experiment_id), charts=False)
        if not isinstance(answer, ExperimentAnswer):
            message = answer.message if isinstance(answer, ErrorAnswer) else "no result"
            lines.append(
                ExperimentLine(info.experiment_id, "error", message, info.users, False, None)
            )
            continue
        result = answer.result
        running_plan = result.decision is not None and result.decision.progress.always_valid
        lines.append(
            ExperimentLine(
                experiment_id=info.experiment_id,
                verdict_kind=result.verdict_kind,
                verdict=verdict_text(result),
                users=info.users,
                srm_flagged=result.srm.flagged,
                srm_p_value=result.srm.p_value,
                progress=progress_text(result.decision.progress) if running_plan else None,
            )
        )
    return lines, max(0, len(running) - MAX_EXPERIMENTS), None


def _ran_during(info, week: DateWindow) -> bool:
    """Running = had exposures during the reported week."""
    first, last = info.first_assigned_at, info.last_assigned_at
    if first is None or last is None:
        return False
    return first.date() <= week.end and last.date() >= week.start


def _retention(kpi: KpiService, period: DigestPeriod) -> tuple[Week1Retention | None, str | None]:
    # Cohorts after as_of are in the mart when the digest is for a past week; ask for
    # enough cohorts to reach back past them.
    weeks_back = max(0, (kpi.today() - period.as_of).days // 7 + 1)
    cohorts = min(MAX_RETENTION_COHORTS, RETENTION_COHORTS + weeks_back)
    answer = kpi.answer(RetentionQuestion(cohorts), charts=False)
    if isinstance(answer, ErrorAnswer):
        return None, answer.message
    assert isinstance(answer, RetentionAnswer)
    result = week1_vs_baseline(answer.report.cells, period.week.end)
    if result is None:
        return None, "Not enough complete signup cohorts yet to compare week-1 retention."
    return result, None


def week1_vs_baseline(
    cells: Rows, week_end: date, baseline: int = BASELINE_COHORTS
) -> Week1Retention | None:
    """Latest cohort whose week 1 ended by ``week_end`` vs the ``baseline`` cohorts
    before it, pooled as ``/kpi retention`` pools."""
    trend = week_trend(cells, 1, recent=1, baseline=baseline, complete_by=week_end)
    return None if trend is None else Week1Retention(trend)
