"""The words and figures of each answer, shared by the terminal and Slack renderers.

Lines are Slack mrkdwn (``*bold*``, backticks); the terminal renderer strips the
markers. Anything that came from a user or the data (experiment and variant names) is
escaped here, so a name like ``<!channel>`` can never ping anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers import (
    Answer,
    ExperimentAnswer,
    ExperimentListAnswer,
    Freshness,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core import format as fmt
from bot.core import sequential as seq
from bot.core.decision import ArmDecision, DecisionKind, ExperimentDecision, MetricResult
from bot.core.plan import CONVERSION, ExperimentPlan, Progress
from bot.core.questions import escape_mrkdwn
from bot.core.revenue import Change, PeriodComparison, RevenueReport, WindowTotals
from bot.core.stats import Comparison as ExperimentComparison
from bot.core.stats import ExperimentResult, Interval, proportion_interval
from bot.render.verdicts import (
    METRIC_LABELS,
    estimate_text,
    estimate_text_of,
    fmt_level,
    interval_text,
    relative_interval_agrees,
    verdict_text,
)

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


def _comparison_line(comparison: PeriodComparison) -> str:
    base = comparison.baseline
    if not base.has_data:
        return f"{_range(base)}: no data"
    return (
        f"{_range(base)}: {fmt.money(base.revenue)} · {fmt.plural(base.orders, 'order')} · "
        f"AOV {fmt.money(base.aov)}"
    )


def _key_figures(cur: WindowTotals, against: PeriodComparison) -> list[tuple[str, str]]:
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
    decision = answer.result.decision
    name = ""
    if decision is not None and decision.plan.name:
        name = f" ({escape_mrkdwn(decision.plan.name)})"
    return (
        f"*Experiment `{escape_mrkdwn(info.experiment_id)}`*{name}: {info.variants} variants, "
        f"{fmt.count(info.users)} users{span}"
    )


def experiment_verdict(answer: ExperimentAnswer) -> str:
    result = answer.result
    icon = VERDICT_ICONS.get(result.verdict_kind, "")
    return f"{icon} *{escape_mrkdwn(verdict_text(result))}*".strip()


def experiment_status(answer: ExperimentAnswer) -> list[str]:
    """The plan the result was read against and which test that meant: the method and
    the progress ("day 12 of 28, 61 % of planned users"). Empty without a plan."""
    decision = answer.result.decision
    if decision is None:
        return []
    return [_method_line(decision), _plan_line(decision.plan)]


def _method_line(d: ExperimentDecision) -> str:
    prog = d.progress
    where = progress_text(prog)
    where = f" ({where})" if where else ""
    if prog.always_valid:
        return (
            f"*Method: always-valid (sequential) intervals* — running{where}. Safe to look "
            "every day: a winner is called only when its always-valid interval excludes 0; "
            "the fixed-horizon test applies once the planned end is reached."
        )
    if prog.finished:
        return f"*Method: fixed-horizon test* — the planned end is reached{where}."
    status = f"marked {escape_mrkdwn(d.plan.status)}, " if d.plan.registered else ""
    return (
        f"*Method: fixed-horizon test* — {status}no planned end registered{where}: read as "
        "a finished experiment (looking again and again at a fixed-horizon test inflates "
        "false winners)."
    )


def progress_text(prog: Progress) -> str:
    """'day 12 of 28, 61 % of planned users (48,800 of 80,000)'; what is known of it."""
    parts = []
    if prog.day is not None:
        of = f" of {prog.planned_days}" if prog.planned_days is not None else ""
        parts.append(f"day {prog.day}{of}")
    if prog.user_share is not None and prog.planned_users is not None:
        parts.append(
            f"{prog.user_share * 100:.{fmt.decimals_for((prog.user_share,), minimum=0)}f} % "
            f"of planned users ({fmt.count(prog.users)} of "
            f"{fmt.count(prog.planned_users)})"
        )
    return ", ".join(parts)


def _plan_line(plan: ExperimentPlan) -> str:
    guardrails = ", ".join(METRIC_LABELS.get(g, g) for g in plan.guardrails) or "none"
    primary = METRIC_LABELS.get(plan.primary_metric, plan.primary_metric)
    if not plan.registered:
        return (
            "_No registry entry: analysed with the defaults_ — primary metric conversion, "
            "guardrail revenue per user, equal split, fixed horizon (no planned end). Add it "
            "to `experiment_registry` to set its plan."
        )
    if plan.problem:
        return f"Registry entry unusable: {escape_mrkdwn(plan.problem)}"
    split = "equal"
    if plan.split is not None:
        split = " / ".join(f"{escape_mrkdwn(k)} {w:g}" for k, w in plan.split.items())
    end = []
    if plan.planned_end_date is not None:
        end.append(f"ends {plan.planned_end_date:%Y-%m-%d}")
    if plan.planned_users_per_arm is not None:
        end.append(f"{fmt.count(plan.planned_users_per_arm)} users per arm")
    owner = f", owner {escape_mrkdwn(plan.owner)}" if plan.owner else ""
    return (
        f"Plan (registry): primary metric {primary}, guardrails {guardrails}, split {split}, "
        f"{' or '.join(end) if end else 'no planned end'}{owner}"
    )


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
    if result.decision is not None:
        return rows + [line for a in result.decision.arms for line in arm_lines(a, result)]
    rows += [comparison_line(c) for c in result.comparisons]
    return rows


DECISION_LABELS = {
    DecisionKind.SHIP: "ship",
    DecisionKind.HOLD_GUARDRAIL: "don't ship yet (a guardrail is worse)",
    DecisionKind.WORSE: "worse: don't ship",
    DecisionKind.GUARDRAIL_WORSE: "a guardrail is worse: don't ship",
    DecisionKind.KEEP_RUNNING: "no difference yet: keep running",
    DecisionKind.NO_DIFFERENCE: "no detectable difference",
    DecisionKind.TOO_FEW_USERS: "too few users to test",
    DecisionKind.NOT_TESTABLE: "not testable",
    DecisionKind.SRM: "sample ratio mismatch: don't trust",
}


def arm_lines(a: ArmDecision, result: ExperimentResult) -> list[str]:
    """The arm's decision, then each metric tested (primary first, then the guardrails)."""
    control = escape_mrkdwn(result.control)
    name = f"*{escape_mrkdwn(a.treatment)} vs {control}*"
    lines = [f"{name}: {DECISION_LABELS[a.kind]}"]
    if a.primary is None:
        return [f"{name}: {escape_mrkdwn(a.message or DECISION_LABELS[a.kind])}"]
    metrics = [("primary", a.primary)] + [("guardrail", g) for g in a.guardrails]
    for role, m in metrics:
        lines.append(f"    {METRIC_LABELS[m.metric]} ({role}): {metric_line(m)}")
    return lines


def metric_line(m: MetricResult) -> str:
    """Every figure of one metric: the difference with its interval, relative with its
    interval, p and Holm-adjusted p, and whether it is significant at the verdict's level."""
    if m.estimate is None:
        return escape_mrkdwn(m.message or "no test")
    unit = fmt.rate if m.metric == CONVERSION else fmt.money
    parts = [
        f"{unit(m.control_value)} → {unit(m.treatment_value)}",
        f"{estimate_text(m)} ({_level_ci(m.ci)} {interval_text(m)})",
    ]
    if m.cuped is not None and m.cuped.theta != 0:
        parts[-1] += (
            f", CUPED-adjusted (unadjusted {estimate_text_of(m, m.cuped.unadjusted.value)})"
        )
    if m.rel_estimate is not None:
        bounds = (m.rel_ci.low, m.rel_ci.high) if m.rel_ci else ()
        rel = f"relative {fmt.pct_auto(m.rel_estimate, *bounds)}"
        if m.rel_ci is not None and not relative_interval_agrees(m):
            rel += (
                " (its delta-method interval disagrees with the test of the difference: not shown)"
            )
        elif m.rel_ci is not None:
            rel += (
                f" ({_level_ci(m.rel_ci)} {fmt.pct_auto(m.rel_ci.low, m.rel_estimate, *bounds)}"
                f" to {fmt.pct_auto(m.rel_ci.high, m.rel_estimate, *bounds)})"
            )
        parts.append(rel)
    p = _p(m.p_value)
    if m.p_adjusted is not None and m.p_adjusted != m.p_value:
        p += f", Holm-adjusted {_p(m.p_adjusted)}"
    parts.append(p)
    parts.append("significant" if m.significant else "not significant")
    return " · ".join(parts)


def _level_ci(interval: Interval | None) -> str:
    return "" if interval is None else f"{fmt_level(interval.level)} CI"


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
    notes = [*_srm_notes(result)]
    if result.excluded_users:
        notes.append(
            f"{fmt.plural(result.excluded_users, 'user')} seen in more than one variant "
            f"{'was' if result.excluded_users == 1 else 'were'} excluded (data-quality issue)."
        )
    if result.adjustment:
        notes.append(
            f"p-values adjusted with {result.adjustment} across the treatments (each "
            "metric on its own); each interval is at the level that matches its adjusted p."
            if result.decision is not None
            else f"p-values adjusted with {result.adjustment}."
        )
    if result.decision is not None:
        return notes + _cuped_notes(result) + _power_notes(result)
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


def _srm_notes(result: ExperimentResult) -> list[str]:
    srm = result.srm
    if srm.p_value is None:
        return [f"Sample-ratio check: {escape_mrkdwn(srm.message)}"] if srm.message else []
    observed = " / ".join(f"{escape_mrkdwn(k)} {n:,}" for k, n in srm.observed.items())
    flag = ":warning: *SRM detected*" if srm.flagged else "Sample-ratio check passed"
    against = ""
    if result.decision is not None:
        planned = result.decision.plan.split is not None
        expected = " / ".join(f"{escape_mrkdwn(k)} {n:,.0f}" for k, n in srm.expected.items())
        against = f" against the {'planned' if planned else 'equal'} split; expected {expected}"
    return [
        f"{flag}: χ² = {srm.chi2:.1f}, {_p(srm.p_value)} (threshold "
        f"{result.settings.srm_threshold:g}){against}; observed {observed}"
    ]


@dataclass(frozen=True)
class CupedView:
    """What CUPED did to one revenue-per-user comparison, as shown."""

    theta: float
    variance_reduction: float  # 1 − Var(adjusted) / Var(unadjusted)
    unadjusted_ci: Interval | None  # the same test and level without the adjustment
    interval_narrowing: float | None  # 1 − width(adjusted) / width(unadjusted)


def cuped_view(m: MetricResult, result: ExperimentResult) -> CupedView | None:
    """The unadjusted interval at the level and with the test of the adjusted one shown,
    so "narrowed the interval by 23 %" compares like with like. None without CUPED."""
    d = result.decision
    if m.cuped is None or m.cuped.theta == 0 or m.ci is None or d is None:
        return None
    outcome = seq.run(
        m.cuped.unadjusted,
        1 - m.ci.level,
        always_valid=d.progress.always_valid,
        tuning=result.settings.sequential_tuning,
        design_alpha=d.alpha,
    )
    if outcome is None:
        return CupedView(m.cuped.theta, m.cuped.variance_reduction, None, None)
    unadjusted = Interval(outcome.low, outcome.high, m.ci.level)
    width = unadjusted.high - unadjusted.low
    narrowing = 1 - (m.ci.high - m.ci.low) / width if width > 0 else None
    return CupedView(m.cuped.theta, m.cuped.variance_reduction, unadjusted, narrowing)


def _cuped_notes(result: ExperimentResult) -> list[str]:
    notes = []
    for a in result.decision.arms:  # type: ignore[union-attr]
        for m in (a.primary, *a.guardrails):
            view = cuped_view(m, result) if m is not None else None
            if view is None or view.unadjusted_ci is None or view.interval_narrowing is None:
                continue
            digits = fmt.decimals_for(
                (m.ci.low, m.ci.high, view.unadjusted_ci.low, view.unadjusted_ci.high),  # type: ignore[union-attr]
                scale=1,
                minimum=2,
            )
            notes.append(
                f"{escape_mrkdwn(a.treatment)}: CUPED (revenue in the 28 days before exposure) "
                f"{_narrowing_words(view)}: "
                f"{interval_text(m)} instead of "
                f"{_money_bound(view.unadjusted_ci.low, digits)} to "
                f"{_money_bound(view.unadjusted_ci.high, digits)} unadjusted."
            )
    return notes


def _narrowing_words(view: CupedView) -> str:
    """'narrowed the … interval by 23 % (variance −41 %)'; honest when it did not narrow."""
    narrowed = round(view.interval_narrowing * 100)  # type: ignore[operator]
    variance = round(-view.variance_reduction * 100)
    change = f"variance {'+' if variance > 0 else '−' if variance < 0 else '±'}{abs(variance)} %"
    if narrowed > 0:
        return f"narrowed the revenue-per-user interval by {narrowed} % ({change})"
    if narrowed < 0:
        return f"widened the revenue-per-user interval by {-narrowed} % ({change})"
    return f"left the revenue-per-user interval about as wide ({change})"


def _money_bound(value: float, digits: int) -> str:
    return ("+" if value >= 0 else "-") + f"${abs(value):,.{digits}f}"


def _power_notes(result: ExperimentResult) -> list[str]:
    """MDE and users needed at the adjusted α, for the planned design when there is one;
    the core leaves them out where they must not be suggested (SRM, a failed guardrail,
    too few users)."""
    d = result.decision
    assert d is not None
    power = f"{result.settings.power * 100:.0f} % power"
    m = len(d.arms)
    alpha = f"α = {d.mde_alpha:.3g}" + (f" (α/{m} for {m} treatments)" if m > 1 else "")
    design = (
        f"the planned {fmt.count(d.plan.planned_users_per_arm)} users per arm"
        if d.plan.planned_users_per_arm is not None
        else "the current sample sizes"
    )
    notes = []
    for a in d.arms:
        if a.mde is None or a.primary is None:
            continue
        metric = a.primary.metric
        mde = fmt.pp_auto(a.mde).lstrip("+") if metric == CONVERSION else fmt.money(a.mde)
        text = (
            f"{escape_mrkdwn(a.treatment)}: minimum detectable effect on "
            f"{METRIC_LABELS[metric]} ±{mde} at {power}, {alpha}, for {design}"
        )
        if a.users_needed:
            needed = " and ".join(
                f"~{fmt.count(n)} {escape_mrkdwn(k)}" for k, n in a.users_needed.items()
            )
            text += f"; detecting the observed {estimate_text(a.primary)} needs {needed} users"
            if d.progress.always_valid:
                text += " (a fixed-horizon count: a lower bound for the sequential test)"
        notes.append(text + ".")
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
