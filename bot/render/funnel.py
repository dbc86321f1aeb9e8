"""The funnel answer in words, tables, Block Kit, JSON and a chart (pure, but for the
chart renderer it is handed).

``bot.core.funnel`` computes a ``FunnelReport`` (data only); every sentence about it is
written here: the biggest drop-off, the changes against the comparison window (only
Holm-significant ones are called changes), and each treatment's verdict per step. Names
that came from the data (segment values, variants, experiment ids) are mrkdwn-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.answers import Chart, FunnelAnswer
from bot.chart_workers import ChartRenderer, render_inline
from bot.core import chart_data as charts
from bot.core import format as fmt
from bot.core.funnel import (
    DIFFERS,
    EXPERIMENT,
    NOT_TESTABLE,
    SEGMENTS,
    SRM,
    DropOff,
    ExperimentFunnel,
    FunnelReport,
    FunnelSummary,
    StepChange,
    StepLift,
    TreatmentVerdict,
)
from bot.core.questions import escape_mrkdwn
from bot.core.stats import Interval
from bot.core.windows import DateWindow
from bot.render.blocks import Block, context, divider, header, lines_sections, section
from bot.render.json_result import interval_json, lift_json

CHART_SEGMENTS = 3  # segments drawn beside the total: more and the bar labels overlap
DIMENSION_NAMES = {"traffic_source": "traffic source", "browser": "browser"}

# --------------------------------------------------------------------------- sentences


def drop_off_sentence(drop: DropOff, unit: str = "sessions") -> str:
    """'most sessions are lost between product and cart: 71 % leave'."""
    return (
        f"most {unit} are lost between {drop.from_step} and {drop.to_step}: "
        f"{drop.share_leaving * 100:.0f} % leave"
    )


def change_sentence(change: StepChange) -> str:
    """'cart → purchase 62.1 % (was 58.0 %, +4.1 pp, Holm-adjusted p = 0.012)'."""
    return (
        f"{change.from_step} → {change.step} {fmt.rate(change.current)} "
        f"(was {fmt.rate(change.previous)}, {fmt.pp(change.diff)}, "
        f"Holm-adjusted {fmt.p_value(change.p_adjusted)})"
    )


def changes_sentence(report: FunnelReport, against: str = "the previous window") -> str | None:
    """Plain words for the comparison with the other window, None without one."""
    if report.previous is None or not report.changes:
        return None
    if not any(c.p_value is not None for c in report.changes):
        reasons = list(dict.fromkeys(c.message for c in report.changes if c.message))
        return f"No comparison with {against}: " + "; ".join(reasons)
    significant = report.significant_changes
    if not significant:
        return f"No step conversion changed significantly against {against}"
    return f"Changed against {against}: " + "; ".join(change_sentence(c) for c in significant)


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def lift_text(lift: StepLift, adjusted: bool) -> str:
    """'purchase +10.0 pp, 95 % CI +5.8 to +14.2 pp, Holm-adjusted p < 0.001'."""
    c = lift.comparison
    ci = ""
    if c.abs_ci is not None:
        low = fmt.pp(c.abs_ci.low).removesuffix(" pp")
        ci = f", {c.abs_ci.level * 100:g} % CI {low} to {fmt.pp(c.abs_ci.high)}"
    holm = "Holm-adjusted " if adjusted else ""
    return f"{lift.step} {fmt.pp(c.abs_lift)}{ci}, {holm}{fmt.p_value(c.p_adjusted)}"


def verdict_sentence(
    verdict: TreatmentVerdict, experiment: ExperimentFunnel, detail: bool = True
) -> str:
    """At which step a treatment wins or loses against the control, or that none differs;
    ``detail`` adds each such step's lift, interval and p-value."""
    treatment, control = verdict.treatment, experiment.control
    adjusted = experiment.adjustment is not None
    if verdict.kind == SRM:
        return f"Sample ratio mismatch — don't trust {treatment} vs {control} at any step"
    if verdict.kind == NOT_TESTABLE:
        reasons = [r for r in dict.fromkeys(x.comparison.message for x in verdict.lifts) if r]
        return f"{treatment} vs {control}: no test possible ({'; '.join(reasons)})"
    if verdict.kind != DIFFERS:
        return f"{treatment} does not differ from {control} at any step"
    parts = []
    if verdict.wins_at:
        chosen = "; ".join(lift_text(x, adjusted) for x in verdict.lifts if x.wins)
        parts.append(f"{treatment} wins at {_join(verdict.wins_at)}" + _detail(chosen, detail))
    if verdict.loses_at:
        chosen = "; ".join(lift_text(x, adjusted) for x in verdict.lifts if x.loses)
        who = "it" if verdict.wins_at else treatment
        parts.append(f"{who} loses at {_join(verdict.loses_at)}" + _detail(chosen, detail))
    return " and ".join(parts) + f" against {control}"


def _detail(text: str, shown: bool) -> str:
    return f" ({text})" if shown else ""


# --------------------------------------------------------------------------- lines


def _window_span(window: DateWindow) -> str:
    return fmt.date_range(window.start, window.end)


def _against(answer: FunnelAnswer) -> str:
    """How the comparison window is named: 'the period before (Sep 26 – Oct 25, 2026)' or
    'the same days a year earlier (…)'."""
    compare = answer.question.compare
    if compare is None:
        return "the previous window"
    what = "the same days a year earlier" if answer.question.vs_last_year else "the period before"
    return f"{what} ({_window_span(compare)})"


def _ci(interval: Interval | None) -> str:
    if interval is None:
        return "n/a"
    return f"{fmt.rate(interval.low)}–{fmt.rate(interval.high)}"


def _title(answer: FunnelAnswer) -> str:
    q, report = answer.question, answer.report
    if report.kind == EXPERIMENT:
        return f"Funnel · {q.experiment_id}"
    assert q.current is not None
    by = f" by {DIMENSION_NAMES[q.dimension]}" if q.dimension else ""
    return f"Funnel{by} · {q.current.label}"


def funnel_headline(answer: FunnelAnswer) -> str:
    """One line a notification can carry: the overall conversion and what it compares to."""
    report = answer.report
    if report.kind == EXPERIMENT:
        exp = report.experiment
        assert exp is not None
        users = sum(s.counts.entered for _, s in exp.variants)
        return (
            f"*Funnel of experiment `{escape_mrkdwn(exp.experiment_id)}`*: "
            f"{fmt.count(users)} exposed users in {fmt.plural(len(exp.variants), 'variant')}"
        )
    current = report.current
    assert current is not None and answer.question.current is not None
    window = answer.question.current
    text = (
        f"*Funnel, {escape_mrkdwn(window.label)}* ({_window_span(window)}): "
        f"*{fmt.rate(current.overall)}* of {fmt.count(current.counts.entered)} sessions "
        f"end in a purchase ({report.level * 100:g} % CI {_ci(current.overall_ci)})"
    )
    if report.previous is not None and report.previous.overall is not None:
        diff = current.overall - report.previous.overall if current.overall is not None else None
        text += (
            f", {fmt.pp_auto(diff)} vs {fmt.rate(report.previous.overall)} in {_against(answer)}"
        )
    return text


def _step_table(summary: FunnelSummary, report: FunnelReport) -> list[str]:
    """One row per step: count, step conversion with its interval, share of entrants,
    and (with a comparison) the change and its Holm-adjusted p-value."""
    changes = {c.step: c for c in report.changes}
    head = f"{'step':<10}{'count':>10}  {'step conv.':>10}  {'CI':>13}  {'of all':>7}"
    if changes:
        head += f"  {'was':>7}  {'change':>9}  {'Holm p':>9}"
    rows = [head]
    for step in summary.steps:
        tested = step.conversion_ci is not None
        row = (
            f"{step.name:<10}{fmt.count(step.count):>10}  "
            f"{fmt.rate(step.conversion) if tested else '':>10}  "
            f"{_ci(step.conversion_ci) if tested else '':>13}  "
            f"{fmt.rate(step.of_entered):>7}"
        )
        change = changes.get(step.name)
        if change is not None:
            mark = " †" if change.significant else ""
            p = fmt.p_value(change.p_adjusted).removeprefix("p = ")
            diff = fmt.pp_auto(change.diff)  # a real change never prints as +0.0
            row += f"  {fmt.rate(change.previous):>7}  {diff:>9}  {p + mark:>9}"
        rows.append(row.rstrip())
    return rows


def _window_findings(answer: FunnelAnswer) -> list[str]:
    report = answer.report
    current = report.current
    assert current is not None
    lines = []
    if current.drop_off is not None:
        lost = fmt.count(current.drop_off.lost)
        lines.append(
            f"*Biggest drop-off*: {drop_off_sentence(current.drop_off)} ({lost} sessions)."
        )
    sentence = changes_sentence(report, _against(answer))
    if sentence is not None:
        lines.append(sentence + ".")
    return lines


def _window_method(report: FunnelReport) -> str:
    text = (
        f"CI = {report.level * 100:g} % Wilson interval of the step conversion; "
        "of all = share of the window's sessions reaching the step."
    )
    if report.changes:
        text += (
            " Step conversions compared with a pooled two-proportion z-test, p-values "
            f"Holm-adjusted across the steps; † = a change at α = {report.alpha:g}."
        )
    return text


def _segment_table(report: FunnelReport) -> list[str]:
    dimension = DIMENSION_NAMES.get(report.dimension or "", report.dimension or "")
    head = (
        f"{dimension:<14}{'sessions':>10}  {'→product':>9}  {'→cart':>7}  {'→purchase':>9}"
        f"  {'overall':>7}  {'CI':>13}"
    )
    rows = [head]
    for segment in report.segments:
        s = segment.summary
        conv = [fmt.rate(step.conversion) for step in s.steps[1:]]
        rows.append(
            f"{_cell(segment.value, 13):<14}{fmt.count(s.counts.entered):>10}  {conv[0]:>9}  "
            f"{conv[1]:>7}  {conv[2]:>9}  {fmt.rate(s.overall):>7}  {_ci(s.overall_ci):>13}"
        )
    return rows


def _cell(name: str, width: int) -> str:
    """A data value cut to a table column (escaped: it came from the data)."""
    name = name if len(name) <= width else name[: width - 1] + "…"
    return escape_mrkdwn(name)


def _segment_findings(report: FunnelReport) -> list[str]:
    lines = []
    if report.other_values:
        lines.append(
            f"“{report.segments[-1].value}” sums the "
            f"{fmt.plural(report.other_values, 'smaller value')}."
        )
    total = report.current
    if total is not None and total.drop_off is not None:
        lines.append(f"*Biggest drop-off* overall: {drop_off_sentence(total.drop_off)}.")
    return lines


def _segment_method(report: FunnelReport) -> str:
    return (
        "One row per value, most sessions first; conversions from the step before; "
        f"CI = {report.level * 100:g} % Wilson interval of the overall conversion."
    )


def _experiment_table(exp: ExperimentFunnel) -> list[str]:
    head = f"{'variant':<12}{'users':>9}  {'→product':>9}  {'→cart':>7}  {'→purchase':>9}"
    rows = [head + f"  {'overall':>7}"]
    for name, s in exp.variants:
        conv = [fmt.rate(step.conversion) for step in s.steps[1:]]
        rows.append(
            f"{_cell(name, 11):<12}{fmt.count(s.counts.entered):>9}  {conv[0]:>9}  "
            f"{conv[1]:>7}  {conv[2]:>9}  {fmt.rate(s.overall):>7}"
        )
    return rows


def _experiment_findings(report: FunnelReport, exp: ExperimentFunnel) -> list[str]:
    lines = []
    adjusted = exp.adjustment is not None
    for verdict in exp.treatments:
        lines.append(f"*{escape_mrkdwn(verdict_sentence(verdict, exp, detail=False))}*")
        lines += [f"   {escape_mrkdwn(_lift_line(lift, adjusted))}" for lift in verdict.lifts]
    if report.message:
        lines.append(escape_mrkdwn(report.message) + ".")
    if exp.srm.flagged:
        lines.append(
            f":warning: Sample ratio mismatch ({fmt.p_value(exp.srm.p_value)}): the split of "
            "exposed users is broken, check assignment before reading any step."
        )
    return lines


def _lift_line(lift: StepLift, adjusted: bool) -> str:
    c = lift.comparison
    if c.p_value is None:
        return f"{lift.step}: no test ({c.message or 'not enough data'})"
    rel = f" ({fmt.pct_auto(c.rel_lift)} relative)" if c.rel_lift is not None else ""
    return lift_text(lift, adjusted) + rel


def _experiment_method(report: FunnelReport, exp: ExperimentFunnel) -> str:
    adjusted = f"; {exp.adjustment} across steps × treatments" if exp.adjustment else ""
    return (
        f"Steps after exposure; each step's conversion against "
        f"{escape_mrkdwn(exp.control)} (z-test, Wald CI of the lift{adjusted}); a win or "
        f"loss needs p < {report.alpha:g}."
    )


def funnel_parts(answer: FunnelAnswer) -> tuple[list[str], list[str], str]:
    """The table rows (monospace), the findings (mrkdwn lines) and the method note."""
    report = answer.report
    if report.kind == EXPERIMENT:
        assert report.experiment is not None
        exp = report.experiment
        return (
            _experiment_table(exp),
            _experiment_findings(report, exp),
            _experiment_method(report, exp),
        )
    if report.kind == SEGMENTS:
        table, findings, method = (
            _segment_table(report), _segment_findings(report), _segment_method(report)
        )  # fmt: skip
    else:
        assert report.current is not None
        table = _step_table(report.current, report)
        findings, method = _window_findings(answer), _window_method(report)
    if report.message:
        findings.append(escape_mrkdwn(report.message) + ".")
    return table, findings, method


# --------------------------------------------------------------------------- renderers


def funnel_text(answer: FunnelAnswer) -> list[str]:
    table, findings, method = funnel_parts(answer)
    return [funnel_headline(answer), "", *table, "", *findings, "", method]


def funnel_blocks(answer: FunnelAnswer) -> list[Block]:
    table, findings, method = funnel_parts(answer)
    return [
        header(_title(answer)),
        section(funnel_headline(answer)),
        section("```\n" + "\n".join(table) + "\n```"),  # one block keeps the table whole
        *lines_sections(findings),
        divider(),
        context([method]),
    ]


def funnel_fallback(answer: FunnelAnswer) -> str:
    report = answer.report
    if report.kind == EXPERIMENT:
        exp = report.experiment
        assert exp is not None
        words = [verdict_sentence(v, exp) for v in exp.treatments] or [report.message or ""]
        return escape_mrkdwn(f"Funnel of {exp.experiment_id}: " + "; ".join(words))
    current = report.current
    assert current is not None and answer.question.current is not None
    text = f"Funnel {answer.question.current.label}: {fmt.rate(current.overall)} purchase"
    if report.previous is not None:
        text += f" (was {fmt.rate(report.previous.overall)})"
    return escape_mrkdwn(text)


# --------------------------------------------------------------------------- JSON


def _summary_json(s: FunnelSummary | None, unit: str = "sessions") -> dict[str, Any] | None:
    if s is None:
        return None
    drop = s.drop_off
    return {
        "steps": [
            {
                "step": step.name,
                "count": step.count,
                "conversion": step.conversion,
                "conversion_ci": interval_json(step.conversion_ci),
                "of_entered": step.of_entered,
            }
            for step in s.steps
        ],
        "overall": s.overall,
        "overall_ci": interval_json(s.overall_ci),
        "drop_off": None
        if drop is None
        else {
            "from_step": drop.from_step,
            "to_step": drop.to_step,
            "lost": drop.lost,
            "share_leaving": drop.share_leaving,
            "sentence": drop_off_sentence(drop, unit),
        },
        "message": s.message,
    }


def _change_json(c: StepChange) -> dict[str, Any]:
    return {
        "from_step": c.from_step,
        "step": c.step,
        "current": c.current,
        "previous": c.previous,
        "diff": c.diff,
        "z": c.z,
        "p_value": c.p_value,
        "p_adjusted": c.p_adjusted,
        "significant": c.significant,
        "message": c.message,
    }


def _lift_json(lift: StepLift) -> dict[str, Any]:
    return {"step": lift.step, **lift_json(lift.comparison), "message": lift.comparison.message}


def _experiment_json(exp: ExperimentFunnel | None) -> dict[str, Any] | None:
    if exp is None:
        return None
    return {
        "experiment_id": exp.experiment_id,
        "control": exp.control,
        "variants": [
            {"variant": name, **(_summary_json(s, "users") or {})} for name, s in exp.variants
        ],
        "treatments": [
            {
                "treatment": v.treatment,
                "verdict_kind": v.kind,
                "wins_at": list(v.wins_at),
                "loses_at": list(v.loses_at),
                "verdict": verdict_sentence(v, exp),
                "lifts": [_lift_json(lift) for lift in v.lifts],
            }
            for v in exp.treatments
        ],
        "adjustment": exp.adjustment,
        "srm": {
            "chi2": exp.srm.chi2,
            "p_value": exp.srm.p_value,
            "flagged": exp.srm.flagged,
            "observed": dict(exp.srm.observed),
            "expected": dict(exp.srm.expected),
        },
    }


def _window_json(window: DateWindow | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {"label": window.label, "start": window.start, "end": window.end}


def funnel_json(answer: FunnelAnswer) -> dict[str, Any]:
    q, r = answer.question, answer.report
    return {
        "kind": "funnel",
        "funnel": r.kind,
        "window": _window_json(q.current),
        "compare_window": _window_json(q.compare) if r.previous is not None else None,
        "vs_last_year": q.vs_last_year,
        "alpha": r.alpha,
        "level": r.level,
        "current": _summary_json(r.current),
        "previous": _summary_json(r.previous),
        "changes": [_change_json(c) for c in r.changes],
        "changes_sentence": changes_sentence(r, _against(answer)),
        "dimension": r.dimension,
        "segments": [
            {"value": s.value, "is_others": s.is_others, **(_summary_json(s.summary) or {})}
            for s in r.segments
        ],
        "other_values": r.other_values,
        "experiment": _experiment_json(r.experiment),
        "message": r.message,
    }


# --------------------------------------------------------------------------- chart


def _series(name: str, summary: FunnelSummary, reference: bool) -> charts.FunnelSeries:
    return charts.FunnelSeries(name, summary.counts.counts, reference)


def _chart_data(answer: FunnelAnswer) -> tuple[list[charts.FunnelSeries], str, str, str]:
    """The series, title, subtitle and unit of the answer's chart."""
    report, q = answer.report, answer.question
    if report.kind == EXPERIMENT:
        exp = report.experiment
        assert exp is not None
        series = [_series(n, s, n == exp.control) for n, s in exp.variants]
        words = "; ".join(verdict_sentence(v, exp, detail=False) for v in exp.treatments)
        subtitle = words if len(words) <= 110 else words[:109] + "…"
        return series, f"{exp.experiment_id}: funnel by variant", subtitle, "users"
    current = report.current
    assert current is not None and q.current is not None
    title = f"Funnel {q.current.label}: {fmt.rate(current.overall)} purchase"
    if report.kind == SEGMENTS:
        shown = [s for s in report.segments if not s.is_others][:CHART_SEGMENTS]
        series = [_series("all sessions", current, True)]
        series += [_series(s.value, s.summary, False) for s in shown]
        by = DIMENSION_NAMES.get(report.dimension or "", "")
        subtitle = f"Top {len(shown)} by sessions, by {by} · {_window_span(q.current)}"
        return series, title, subtitle, "sessions"
    series = [_series(_window_span(q.current), current, False)]
    if report.previous is not None and q.compare is not None:
        series.append(_series(_window_span(q.compare), report.previous, True))
        diff = (
            current.overall - report.previous.overall
            if current.overall is not None and report.previous.overall is not None
            else None
        )
        title += f" ({fmt.pp_auto(diff)} vs {'last year' if q.vs_last_year else 'previous'})"
    subtitle = (
        f"Biggest drop-off: {drop_off_sentence(current.drop_off)}"
        if current.drop_off is not None
        else ""
    )
    return series, title, subtitle, "sessions"


def funnel_answer_chart(
    answer: FunnelAnswer, render: ChartRenderer = render_inline
) -> tuple[Chart, ...]:
    series, title, subtitle, unit = _chart_data(answer)
    steps = [answer.report.entry_step, "product", "cart", "purchase"]
    png = render(
        charts.funnel_chart, steps, series, title=title, subtitle=subtitle or None, unit=unit
    )
    return (Chart("funnel", title, png),)
