"""A digest as one Block Kit message (pure: content in, blocks and fallback text out).

Layout, most important first, so a phone notification and the first screen carry the
week's numbers: header · late / missed-digest / stale-data warnings · revenue, orders
and AOV with both comparisons · unusual days · experiments · retention · funnel · data
as of.
Charts go in the message's thread (the sender uploads them); the message says so.

The same function renders the preview and the posted message, so they can't differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.answers import Chart, FunnelAnswer, RevenueAnswer
from bot.core import format as fmt
from bot.core.anomalies import DayCheck
from bot.core.questions import escape_mrkdwn
from bot.core.revenue import Change, PeriodComparison
from bot.digest.content import DigestContent, ExperimentLine, Week1Retention
from bot.render.blocks import context, divider, fields, fit, header, lines_sections, section
from bot.render.summary import VERDICT_ICONS, freshness_line

Block = dict[str, Any]
MAX_FAILURE_NOTES = 4


@dataclass(frozen=True)
class MissedDigest:
    period: str  # the week's Monday, ISO
    error: str | None


@dataclass(frozen=True)
class DigestNotes:
    """What differs per channel and per send: lateness and earlier failures."""

    due_at: datetime | None = None  # set when the digest goes out late
    timezone: ZoneInfo | None = None
    missed: tuple[MissedDigest, ...] = ()


@dataclass(frozen=True)
class DigestMessage:
    blocks: list[Block]
    text: str
    charts: tuple[Chart, ...]


def render_digest(content: DigestContent, notes: DigestNotes = DigestNotes()) -> DigestMessage:
    week = content.week
    blocks: list[Block] = [header(f"Weekly KPI digest · {week_span(week.start, week.end)}")]
    blocks += _warnings(content, notes)
    blocks += _revenue(content)
    blocks += _unusual_days(content)
    blocks.append(divider())
    blocks += _experiments(content)
    blocks += _retention(content)
    blocks += _funnel(content)
    blocks.append(context(_footer(content)))
    return DigestMessage(fit(blocks), fallback_text(content, notes), content.charts)


def week_span(start: date, end: date) -> str:
    return fmt.date_range(start, end, short_month=True)


def _window_span(window) -> str:
    return week_span(window.start, window.end)


def fallback_text(content: DigestContent, notes: DigestNotes) -> str:
    """The notification / screen-reader text."""
    late = " (late)" if notes.due_at is not None else ""
    span = week_span(content.week.start, content.week.end)
    revenue = content.revenue
    if isinstance(revenue, RevenueAnswer):
        report = revenue.report
        return (
            f"Weekly KPI digest{late}, {span}: revenue {fmt.money(report.current.revenue)} "
            f"({fmt.pct(report.previous.revenue.delta_pct)} vs previous week)"
        )
    return f"Weekly KPI digest{late}, {span}"


# --------------------------------------------------------------------------- parts


def _warnings(content: DigestContent, notes: DigestNotes) -> list[Block]:
    blocks = []
    if notes.due_at is not None:
        due = notes.due_at.astimezone(notes.timezone) if notes.timezone else notes.due_at
        blocks.append(
            section(
                f":hourglass_flowing_sand: *This digest is late.* It was due "
                f"{due:%a %b %d, %H:%M} {due.tzname() or ''}".rstrip()
                + " but the bot wasn't running then; the figures are the same."
            )
        )
    for missed in notes.missed[:MAX_FAILURE_NOTES]:
        reason = f" (`{escape_mrkdwn(missed.error)}`)" if missed.error else ""
        start = date.fromisoformat(missed.period)
        blocks.append(
            section(
                f":warning: *A digest was missed:* the one for the week of {start:%b %d, %Y} "
                f"could not be posted here{reason}."
            )
        )
    if len(notes.missed) > MAX_FAILURE_NOTES:
        blocks.append(
            context([f"…and {len(notes.missed) - MAX_FAILURE_NOTES} more missed digests."])
        )
    freshness = content.freshness
    if freshness is not None and freshness.stale:
        blocks.append(section(freshness_line(freshness)))
    return blocks


def _change(change: Change, what: str) -> str:
    return f"{fmt.pct(change.delta_pct)} vs {what}"


def _money_cell(label: str, value: float | None, prev: Change, year: Change | None) -> tuple:
    parts = [_change(prev, "prev week")]
    if year is not None:
        parts.append(_change(year, "last year"))
    return (label, f"*{fmt.money(value)}*\n" + " · ".join(parts))


def _baseline_line(comparison: PeriodComparison) -> str:
    base = comparison.baseline
    if not base.has_data:
        return "no data"
    return (
        f"{fmt.money(base.revenue)} · {fmt.plural(base.orders, 'order')} · "
        f"AOV {fmt.money(base.aov)}"
    )


def _revenue(content: DigestContent) -> list[Block]:
    revenue = content.revenue
    if not isinstance(revenue, RevenueAnswer):
        return [section(f":warning: *Revenue:* {revenue.message}")]
    report = revenue.report
    cur, prev, year = report.current, report.previous, report.last_year
    orders_parts = [
        f"{fmt.signed_count(prev.orders.delta)} ({fmt.pct(prev.orders.delta_pct)}) vs prev week"
    ]
    if year is not None:
        orders_parts.append(f"{fmt.pct(year.orders.delta_pct)} vs last year")
    pairs = [
        _money_cell("Revenue", cur.revenue, prev.revenue, year.revenue if year else None),
        ("Orders", f"*{fmt.count(cur.orders)}*\n" + " · ".join(orders_parts)),
        _money_cell("Average order value", cur.aov, prev.aov, year.aov if year else None),
        (
            f"Week before ({_window_span(prev.baseline.window)})",
            _baseline_line(prev),
        ),
    ]
    if year is not None:
        pairs.append(
            (
                f"Same week last year ({_window_span(year.baseline.window)})",
                _baseline_line(year),
            )
        )
    headline = (
        f"*Revenue {fmt.money(cur.revenue)}* ({fmt.pct(prev.revenue.delta_pct)} vs the week "
        f"before"
        + (f", {fmt.pct(year.revenue.delta_pct)} vs the same week last year" if year else "")
        + ")"
    )
    blocks = [section(headline), *fields(pairs)]
    if report.notes:
        blocks.append(context([f":information_source: {n}" for n in report.notes]))
    return blocks


def _unusual_days(content: DigestContent) -> list[Block]:
    if not isinstance(content.revenue, RevenueAnswer) or not content.day_checks:
        return []
    settings = content.anomaly_settings
    method = (
        f"usual range = median of the same weekday over the previous "
        f"{settings.history_weeks} weeks, ×/÷ e^({settings.k:g} robust SD of log revenue)"
    )
    unusual = content.unusual_days
    assessed = [c for c in content.day_checks if c.assessed]
    if unusual:
        lines = [":rotating_light: *Unusual days*"] + [_unusual_line(c) for c in unusual]
        return [*lines_sections(lines), context([f"Unusual = outside its {method}."])]
    if not assessed:
        return [context(["Unusual days: not enough history yet to judge (needs 6 of 8 weeks)."])]
    skipped = len(content.day_checks) - len(assessed)
    extra = f" ({fmt.plural(skipped, 'day')} without enough history not judged)" if skipped else ""
    return [context([f"No unusual days: every day was within its {method}{extra}."])]


def _unusual_line(check: DayCheck) -> str:
    assert check.band is not None and check.value is not None
    band = check.band
    word = "above" if check.direction == "high" else "below"
    icon = (
        ":chart_with_upwards_trend:" if check.direction == "high" else ":small_red_triangle_down:"
    )
    return (
        f"{icon} *{check.day:%a %b %d}*: {fmt.money(check.value)}, far {word} a usual "
        f"{check.day:%A} ({fmt.money(band.median)}; expected {fmt.money(max(band.low, 0.0))}"
        f"–{fmt.money(band.high)})"
    )


def _experiments(content: DigestContent) -> list[Block]:
    if content.experiments_error:
        return [section(f":warning: *Experiments:* {content.experiments_error}")]
    if not content.experiments:
        return [section("*Experiments:* none had exposures this week.")]
    lines = [f"*Experiments running* ({len(content.experiments) + content.more_experiments})"]
    lines += [_experiment_line(e) for e in content.experiments]
    if content.more_experiments:
        lines.append(f"…and {content.more_experiments} more: `/kpi ab` lists them.")
    return lines_sections(lines)


def _experiment_line(line: ExperimentLine) -> str:
    icon = VERDICT_ICONS.get(line.verdict_kind, ":grey_question:")
    text = f"{icon} `{escape_mrkdwn(line.experiment_id)}` ({fmt.plural(line.users, 'user')}): "
    text += escape_mrkdwn(line.verdict)
    if line.progress:
        text += f" — still running: {line.progress}"
    if line.srm_flagged:
        p = fmt.p_value(line.srm_p_value)
        text += f" — :warning: *SRM* ({p}): the split is broken, check assignment first"
    return text


def _retention(content: DigestContent) -> list[Block]:
    if content.retention is None:
        message = content.retention_error or "no complete cohorts yet"
        return [section(f"*Retention:* {message}")]
    return [section(retention_line(content.retention))]


def retention_line(r: Week1Retention) -> str:
    if r.p_value is None:
        verdict = ""
    elif r.p_value < 0.05:
        verdict = f", a real change ({fmt.p_value(r.p_value)})"
    else:
        verdict = f", within normal variation (p = {r.p_value:.2f})"
    return (
        f"*Retention:* week-1 retention of the {r.cohort_week:%b %d} signup cohort "
        f"({fmt.plural(r.cohort_size, 'user')}) is *{fmt.rate(r.rate)}* vs "
        f"{fmt.rate(r.baseline_rate)} for the {fmt.plural(r.baseline_cohorts, 'cohort')} "
        "before it "
        f"({fmt.pp(r.difference)}{verdict})."
    )


def _funnel(content: DigestContent) -> list[Block]:
    funnel = content.funnel
    if funnel is None:
        return []
    if not isinstance(funnel, FunnelAnswer):
        return [section(f"*Funnel:* {funnel.message}")]
    return [section(funnel_line(funnel))]


def funnel_line(answer: FunnelAnswer) -> str:
    """Overall conversion vs the week before, and the step conversion that moved most
    (called a change only when its Holm-adjusted p-value is below α)."""
    report = answer.report
    current, previous = report.current, report.previous
    assert current is not None
    text = (
        f"*Funnel:* *{fmt.rate(current.overall)}* of {fmt.count(current.counts.entered)} "
        "sessions ended in a purchase"
    )
    if previous is None or previous.overall is None or current.overall is None:
        return text + (f" ({escape_mrkdwn(report.message)})." if report.message else ".")
    text += (
        f" vs {fmt.rate(previous.overall)} the week before "
        f"({fmt.pp_auto(current.overall - previous.overall)})"
    )
    tested = [c for c in report.changes if c.diff is not None and c.p_adjusted is not None]
    if not tested:
        return text + "."
    moved = max(tested, key=lambda c: abs(c.diff or 0.0))
    verdict = "a real change" if moved.significant else "within normal variation"
    return text + (
        f"; the step that moved most: {moved.from_step} → {moved.step} "
        f"{fmt.rate(moved.current)} ({fmt.pp_auto(moved.diff)}, Holm-adjusted "
        f"{fmt.p_value(moved.p_adjusted)}, {verdict})."
    )


def _footer(content: DigestContent) -> list[str]:
    lines = []
    freshness = content.freshness
    if freshness is not None and not freshness.stale:
        lines.append(freshness_line(freshness))
    if content.has_chart:
        lines.append(":thread: Charts are in the thread.")
    lines.append(
        f"Week {content.week.start:%G-W%V} · Monday–Sunday, UTC days · `/kpi digest preview`"
    )
    return lines
