"""The words and figures of each answer, shared by the terminal and Slack renderers.

Lines are Slack mrkdwn (``*bold*``, backticks); the terminal renderer strips the
markers. Anything that came from a user or the data (experiment and variant names) is
escaped here, so a name like ``<!channel>`` can never ping anyone.
"""

from __future__ import annotations

from bot.answers import (
    Answer,
    ExperimentAnswer,
    ExperimentListAnswer,
    Freshness,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core import format as fmt
from bot.core.questions import escape_mrkdwn
from bot.core.revenue import Change, Comparison, RevenueReport, WindowTotals
from bot.core.stats import Comparison as ExperimentComparison
from bot.core.stats import Interval, proportion_interval
from bot.render.verdicts import verdict_text

VERDICT_ICONS = {
    "winner": ":white_check_mark:",
    "loser": ":x:",
    "no_difference": ":hourglass_flowing_sand:",
    "srm": ":warning:",
    "not_testable": ":grey_question:",
}


def _range(totals: WindowTotals) -> str:
    return fmt.date_range(totals.window.start, totals.window.end, weekday=True)


def _money_change(change: Change) -> str:
    return f"{fmt.signed_money(change.delta)}, {fmt.pct(change.delta_pct)}"


def revenue_baseline_name(report: RevenueReport) -> str:
    """How the headline names what it compares with: "previous period", or last year
    with its dates (a single day names the day: the same weekday, 52 weeks earlier)."""
    if report.last_year is None:
        return "previous period"
    base = report.last_year.baseline.window
    if report.one_weekday_last_year:
        return f"the same weekday last year ({fmt.date_range(base.start, base.end, weekday=True)})"
    return f"last year ({fmt.date_range(base.start, base.end)})"


def revenue_headline(answer: RevenueAnswer) -> str:
    cur = answer.report.current
    return (
        f"*Revenue, {escape_mrkdwn(cur.window.label)}* ({_range(cur)}): "
        f"*{fmt.money(cur.revenue)}*, {fmt.pct(answer.report.primary.revenue.delta_pct)} "
        f"vs {revenue_baseline_name(answer.report)}"
    )


def _comparison_line(comparison: Comparison) -> str:
    base = comparison.baseline
    if not base.has_data:
        return f"{_range(base)}: no data"
    return (
        f"{_range(base)}: {fmt.money(base.revenue)} · {fmt.plural(base.orders, 'order')} · "
        f"AOV {fmt.money(base.aov)}"
    )


def _key_figures(cur: WindowTotals, against: Comparison) -> list[tuple[str, str]]:
    return [
        ("Revenue", f"{fmt.money(cur.revenue)} ({_money_change(against.revenue)})"),
        (
            "Orders",
            f"{fmt.count(cur.orders)} ({fmt.signed_count(against.orders.delta)}, "
            f"{fmt.pct(against.orders.delta_pct)})",
        ),
        ("Average order value", f"{fmt.money(cur.aov)} ({_money_change(against.aov)})"),
    ]


def revenue_fields(answer: RevenueAnswer) -> list[tuple[str, str]]:
    """Key figures against the comparison asked for; the other comparison after them."""
    report = answer.report
    cur, prev, year = report.current, report.previous, report.last_year
    if year is None:
        fields = _key_figures(cur, prev)
        fields.append(("Previous period", _comparison_line(prev)))
    else:
        same = "Same weekday last year" if report.one_weekday_last_year else "Last year"
        fields = _key_figures(cur, year)
        fields.append((same, _comparison_line(year)))
        fields.append(("Previous period", _comparison_line(prev)))
        fields.append(("Revenue vs previous", _money_change(prev.revenue)))
    if cur.best_day is not None and cur.worst_day is not None and cur.covered_days > 1:
        fields.append(
            ("Best day", f"{fmt.day(cur.best_day.day)} · {fmt.money(cur.best_day.revenue)}")
        )
        fields.append(
            ("Worst day", f"{fmt.day(cur.worst_day.day)} · {fmt.money(cur.worst_day.revenue)}")
        )
    return fields


def experiment_headline(answer: ExperimentAnswer) -> str:
    info = answer.info
    span = ""
    if info.first_assigned_at and info.last_assigned_at:
        span = f", exposures {info.first_assigned_at:%Y-%m-%d} to {info.last_assigned_at:%Y-%m-%d}"
    return (
        f"*Experiment `{escape_mrkdwn(info.experiment_id)}`*: {info.variants} variants, "
        f"{fmt.count(info.users)} users{span}"
    )


def experiment_verdict(answer: ExperimentAnswer) -> str:
    result = answer.result
    icon = VERDICT_ICONS.get(result.verdict_kind, "")
    return f"{icon} *{escape_mrkdwn(verdict_text(result))}*".strip()


def _interval(interval: Interval | None, formatter) -> str:
    if interval is None:
        return "n/a"
    level = f"{interval.level * 100:.0f} % CI"
    return f"{level} {formatter(interval.low)} to {formatter(interval.high)}"


_p = fmt.p_value


def experiment_table(answer: ExperimentAnswer) -> list[str]:
    result = answer.result
    level = 1 - result.settings.alpha
    rows = []
    for v in result.variants:
        interval = proportion_interval(v.converters, v.users, level)
        role = " (control)" if v.name == result.control and v.name != "control" else ""
        revenue = fmt.money(v.revenue_sum / v.users) if v.users else "n/a"
        rows.append(
            f"*{escape_mrkdwn(v.name)}*{role}: {fmt.count(v.users)} users · "
            f"{fmt.count(v.converters)} converted · "
            f"{fmt.rate(v.converters / v.users if v.users else None)} "
            f"({_interval(interval, lambda x: fmt.rate(x))}) · revenue/user {revenue}"
        )
    rows += [comparison_line(c) for c in result.comparisons]
    return rows


def comparison_line(c: ExperimentComparison) -> str:
    name = f"*{escape_mrkdwn(c.treatment)} vs {escape_mrkdwn(c.control)}*"
    if c.message:
        return f"{name}: {escape_mrkdwn(c.message)}"
    parts = [
        f"{fmt.pp(c.abs_lift)} ({_interval(c.abs_ci, fmt.pp)})",
        f"relative {fmt.pct(_times_100(c.rel_lift))} "
        f"({_interval(c.rel_ci, lambda x: fmt.pct(_times_100(x)))})",
        _p(c.p_value)
        + (
            f", Holm-adjusted {_p(c.p_adjusted)}"
            if c.p_adjusted is not None and c.p_adjusted != c.p_value
            else ""
        ),
    ]
    if c.revenue is not None:
        parts.append(
            f"revenue/user {fmt.signed_money(c.revenue.diff)} "
            f"({_interval(c.revenue.ci, fmt.signed_money)}, Welch {_p(c.revenue.p_value)})"
        )
    return f"{name}: " + " · ".join(parts)


def _times_100(value: float | None) -> float | None:
    return None if value is None else value * 100


def experiment_notes(answer: ExperimentAnswer) -> list[str]:
    result = answer.result
    notes = []
    srm = result.srm
    if srm.p_value is not None:
        observed = " / ".join(f"{escape_mrkdwn(k)} {n:,}" for k, n in srm.observed.items())
        flag = ":warning: *SRM detected*" if srm.flagged else "Sample-ratio check passed"
        notes.append(
            f"{flag}: χ² = {srm.chi2:.1f}, {_p(srm.p_value)} (threshold "
            f"{result.settings.srm_threshold:g}); observed {observed}"
        )
    elif srm.message:
        notes.append(f"Sample-ratio check: {escape_mrkdwn(srm.message)}")
    if result.excluded_users:
        notes.append(
            f"{fmt.count(result.excluded_users)} users seen in more than one variant were "
            "excluded (data-quality issue)."
        )
    if result.adjustment:
        notes.append(f"p-values adjusted with {result.adjustment}.")
    power = f"{result.settings.power * 100:.0f} % power"
    for c in result.comparisons:
        if c.mde_abs is not None:
            needed = ""
            if c.users_needed_per_arm is not None and not c.significant:
                needed = (
                    f"; detecting the observed {fmt.pp(c.abs_lift)} at {power} needs "
                    f"~{fmt.count(c.users_needed_per_arm)} users per arm"
                )
            notes.append(
                f"{escape_mrkdwn(c.treatment)}: minimum detectable effect "
                f"±{abs(c.mde_abs) * 100:.1f} pp at {power}{needed}."
            )
    return notes


def experiment_list(answer: ExperimentListAnswer) -> list[str]:
    if not answer.experiments:
        return ["No experiments found in the data."]
    rows = []
    for e in answer.experiments:
        span = (
            f"{e.first_assigned_at:%Y-%m-%d} to {e.last_assigned_at:%Y-%m-%d}"
            if e.first_assigned_at and e.last_assigned_at
            else "no exposures"
        )
        rows.append(
            f"`{escape_mrkdwn(e.experiment_id)}`: {e.variants} variants, "
            f"{fmt.count(e.users)} users, {span}"
        )
    rows.append("Ask `/kpi ab <experiment>` for the result of one.")
    return rows


def retention_headline(answer: RetentionAnswer) -> str:
    cohorts = answer.report.cohorts
    if not cohorts:
        return "*Weekly retention*: no complete cohorts yet"
    return (
        f"*Weekly retention*, {fmt.plural(len(cohorts), 'signup cohort')} "
        f"({fmt.date_range(cohorts[0], cohorts[-1])}, Monday-start weeks)"
    )


def retention_lines(answer: RetentionAnswer) -> list[str]:
    report = answer.report
    lines = [
        f"Week-1 retention: *{fmt.rate(report.week1.rate)}* "
        f"(pooled over {fmt.plural(report.week1.cohorts, 'cohort')}, "
        f"{fmt.plural(report.week1.users, 'user')})",
        f"Week-4 retention: *{fmt.rate(report.week4.rate)}* "
        f"(pooled over {fmt.plural(report.week4.cohorts, 'cohort')}, "
        f"{fmt.plural(report.week4.users, 'user')})",
    ]
    trend = report.trend
    if trend is not None:
        lines.append(
            f"Recent cohorts retain *{trend.direction}*: week-1 {fmt.rate(trend.recent.rate)} "
            f"for the last {fmt.plural(trend.recent.cohorts, 'cohort')} vs "
            f"{fmt.rate(trend.baseline.rate)} for the {trend.baseline.cohorts} shown before "
            f"them ({fmt.pp(trend.difference)}, {_p(trend.p_value)})"
        )
    lines.append("Cells for weeks not yet complete are left blank, not counted as zero.")
    return lines


def notes(answer: Answer) -> list[str]:
    if isinstance(answer, RevenueAnswer):
        return list(answer.report.notes)
    return []


def freshness_line(freshness: Freshness) -> str:
    stamp = fmt.timestamp(freshness.data_as_of)
    if freshness.stale:
        age = freshness.age_hours
        age_text = f"{age:.0f} h old" if age is not None else "of unknown age"
        return (
            f":warning: *Stale data*: data as of {stamp} is {age_text} "
            f"(threshold {freshness.stale_after_hours:g} h). Figures may be out of date."
        )
    return f"Data as of {stamp}"
