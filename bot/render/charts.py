"""Answers → charts (``Chart``: name, title, PNG bytes), drawn only when shown.

The drawing itself is ``bot.core.charts`` (pure, plain data in, PNG out); ``render`` is
where it runs: in this thread, or in the chart worker processes when serving
(``bot.chart_workers``). The digest draws its chart here too. Charts are named through
``bot.core.chart_data`` and their data are plain (``Rows``, ``Grid``, lists), so this
module imports neither matplotlib nor pandas: only the drawing process does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.answers import Chart, ExperimentAnswer, MetricAnswer, RetentionAnswer, RevenueAnswer
from bot.chart_workers import ChartRenderer, render_inline
from bot.core import chart_data as charts
from bot.core import format as fmt
from bot.core.decision import DecisionKind
from bot.core.metric_report import value_text
from bot.core.revenue import RevenueReport, WindowTotals
from bot.core.stats import ExperimentResult, proportion_interval
from bot.core.table import Rows
from bot.render.summary import DECISION_LABELS
from bot.render.verdicts import confidence_note, fmt_level, verdict_text


def revenue_answer_chart(
    answer: RevenueAnswer, render: ChartRenderer = render_inline
) -> tuple[Chart, ...]:
    report = answer.report
    against = "previous"
    if report.last_year is not None:  # asked vs last year: last year's days are dashed
        against = "same weekday last year" if report.one_weekday_last_year else "last year"
    title = (
        f"Revenue {report.current.window.label}: {fmt.money(report.current.revenue)} "
        f"({fmt.pct(report.primary.revenue.delta_pct)} vs {against})"
    )
    return (_revenue_over_previous(report, title, render, baseline=report.primary.baseline),)


def digest_revenue_chart(
    answer: RevenueAnswer, unusual_days: Sequence[date], render: ChartRenderer = render_inline
) -> Chart:
    """The digest's week over the week before, unusual days ringed."""
    report = answer.report
    current = report.current.window
    title = (
        f"Revenue {fmt.date_range(current.start, current.end, short_month=True)}: "
        f"{fmt.money(report.current.revenue)} "
        f"({fmt.pct(report.previous.revenue.delta_pct)} vs previous week)"
    )
    return _revenue_over_previous(report, title, render, unusual_days, short_month=True)


def _revenue_over_previous(
    report: RevenueReport,
    title: str,
    render: ChartRenderer,
    highlight_days: Sequence[date] | None = None,
    short_month: bool = False,
    baseline: WindowTotals | None = None,
) -> Chart:
    """The current window's days over ``baseline``'s (default: the previous period)."""
    current = report.current
    previous = report.previous.baseline if baseline is None else baseline
    extra = {} if highlight_days is None else {"highlight_days": list(highlight_days)}
    png = render(
        charts.revenue_chart,
        _day_revenue(current.daily),
        _day_revenue(previous.daily),
        title=title,
        current_label=fmt.date_range(
            current.window.start, current.window.end, short_month=short_month
        ),
        previous_label=fmt.date_range(
            previous.window.start, previous.window.end, short_month=short_month
        ),
        **extra,
    )
    return Chart("revenue", title, png)


def experiment_answer_chart(
    answer: ExperimentAnswer, render: ChartRenderer = render_inline
) -> tuple[Chart, ...]:
    result = answer.result
    level = 1 - result.settings.alpha
    bars = []
    for v in result.variants:
        interval = proportion_interval(v.converters, v.users, level)
        bars.append(
            charts.VariantBar(
                name=v.name,
                rate=v.conversion_rate if v.users else 0.0,
                ci_low=interval.low if interval else None,
                ci_high=interval.high if interval else None,
                users=v.users,
                is_control=v.name == result.control,
            )
        )
    title = f"{result.experiment_id}: conversion by variant"
    png = render(charts.experiment_chart, bars, title=title, subtitle=experiment_subtitle(result))
    return (Chart("experiment", title, png),)


def experiment_subtitle(result: ExperimentResult) -> str:
    """What the bars are and the decision in a few words (the full sentence, which can run
    to several clauses in A/B/n, is in the message next to the chart)."""
    wilson = f"{fmt_level(1 - result.settings.alpha)} Wilson intervals per variant"
    d = result.decision
    if d is None:
        return f"{wilson} · {verdict_text(result)}"
    if d.kind in (DecisionKind.SRM, DecisionKind.TOO_FEW_USERS, DecisionKind.NOT_TESTABLE):
        return f"{wilson} · {verdict_text(result)}"
    return f"{wilson} · {DECISION_LABELS[d.kind]} · {confidence_note(d)}"


def retention_answer_chart(
    answer: RetentionAnswer, render: ChartRenderer = render_inline
) -> tuple[Chart, ...]:
    report = answer.report
    title = f"Weekly retention by signup cohort (week-1 avg {fmt.rate(report.week1.rate)})"
    png = render(charts.retention_heatmap, report.matrix, report.cohort_sizes, title=title)
    return (Chart("retention", title, png),)


def no_chart(answer: object, render: ChartRenderer = render_inline) -> tuple[Chart, ...]:
    """For answers that are words only (lists, help, errors)."""
    return ()


def _day_revenue(daily: Rows) -> Rows:
    return daily.select("day", "revenue")


def metric_answer_chart(
    answer: MetricAnswer, render: ChartRenderer = render_inline
) -> tuple[Chart, ...]:
    """A breakdown's bars (first metric), or the first metric's line over the comparison
    window; several metrics without a grain are a table only."""
    report = answer.report
    metric, total = report.metrics[0], report.totals[0]
    shown = value_text(total.current, metric.unit)
    if report.dimension is not None:
        rows = report.rows
        title = f"{metric.label} by {report.dimension.replace('_', ' ')}, {report.current.label}"
        png = render(
            charts.metric_bar_chart,
            [f"{r.label} ({r.folded})" if r.folded else r.label for r in rows],
            [r.figures[0].current for r in rows],
            [fmt.pct(r.figures[0].delta_pct) for r in rows],
            title=f"{title}: {shown} in all",
            unit=metric.unit,
            axis_label=metric.label,
            muted=[bool(r.folded) for r in rows],
        )
        return (Chart(f"{metric.name}_by_{report.dimension}", title, png),)
    if report.series is None:
        return ()
    s = report.series
    versus = "last year" if answer.question.comparison == "last_year" else "previous"
    change = fmt.pct(total.delta_pct)
    title = f"{metric.label} {report.current.label}: {shown} ({change} vs {versus})"
    png = render(
        charts.metric_line_chart,
        list(s.periods),
        list(s.values[metric.name]),
        list(s.previous_values[metric.name]),
        title=title,
        unit=metric.unit,
        grain=s.grain,
        axis_label=f"{metric.label} per {s.grain}",
        current_label=fmt.date_range(report.current.start, report.current.end),
        previous_label=fmt.date_range(report.previous.start, report.previous.end),
        partial_first=s.partial_first,
        partial_last=s.partial_last,
    )
    return (Chart(f"{metric.name}_{s.grain}", title, png),)
