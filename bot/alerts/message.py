"""An alert as a Slack message: what broke, by how much, against what, the data's age,
who set the rule, a button to the full answer (``kpi_ask_question``, its value the
question as typed after ``/kpi``); and a 28-day chart of the metric with the day ringed.

Pure functions of an evaluation (``bot.core.alerts``) and its context; the chart is
``bot.core.charts.alert_metric_chart`` (the revenue chart's daily line and its day
highlighting, with the metric's own values and unit), drawn by the renderer it is handed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.answers import Chart
from bot.chart_workers import ChartRenderer, render_inline
from bot.core import chart_data
from bot.core import format as fmt
from bot.core.alerts import (
    CURRENCY_METRICS,
    METRICS,
    AlertRule,
    Evaluation,
    full_answer_question,
)
from bot.core.table import Rows
from bot.digest.store import Delivery
from bot.render.buttons import ask_button_block

CHART_DAYS = 28


@dataclass(frozen=True)
class MetricDisplay:
    """How an alert names and formats its metric: the semantic layer's label and
    ``meta.unit`` (currency, count, ratio), and the rule's filter."""

    label: str
    unit: str = "count"
    where: tuple[str, str] | None = None

    @property
    def plain_title(self) -> str:
        """The label and the filter, for the chart."""
        if self.where is None:
            return self.label
        return f"{self.label} ({self.where[0]} = {self.where[1]})"

    @property
    def title(self) -> str:
        """``plain_title`` for Slack mrkdwn (a data value made inert)."""
        return self.plain_title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def value(self, value: float | None) -> str:
        if self.unit == "currency":
            return fmt.money(value)
        if self.unit == "ratio":
            return fmt.rate(value)
        return fmt.count(value)


def mart_display(rule: AlertRule) -> MetricDisplay:
    """Core's naming of a metric, for when the semantic layer can't describe it."""
    label = METRICS.get(rule.metric, (rule.metric, True))[0]
    unit = "currency" if rule.metric in CURRENCY_METRICS else "count"
    return MetricDisplay(label, unit, rule.where)


@dataclass(frozen=True)
class AlertMessage:
    blocks: list[dict]
    text: str  # the notification / fallback text
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class AlertContext:
    rule_id: int
    created_by: str | None
    data_as_of: datetime | None
    missed: Sequence[Delivery] = ()  # earlier alert deliveries that finally failed


def value_text(metric: str, value: float | None) -> str:
    """A daily-mart metric's value (kept for callers that know only the name)."""
    return mart_display(AlertRule(metric, "anomaly")).value(value)


def headline(ev: Evaluation, display: MetricDisplay | None = None) -> str:
    """One line: what broke and by how much, against what."""
    shown = display or mart_display(ev.rule)
    rule = ev.rule
    label = shown.title
    day = fmt.day(ev.day)
    value = shown.value(ev.value)
    if rule.condition in ("below", "above"):
        gap = abs((ev.value or 0.0) - (ev.reference or 0.0))
        return (
            f"{label} on {day}: {value}, {shown.value(gap)} {rule.condition} "
            f"your threshold of {shown.value(ev.reference)}"
        )
    if rule.condition in ("drops", "rises"):
        moved = "down" if (ev.change or 0.0) < 0 else "up"
        by = fmt.rate(abs(ev.change or 0.0))  # a fraction: 2.127 → 212.7 %
        earlier = f"{shown.value(ev.reference)} on {fmt.day(ev.reference_day)}"
        return (
            f"{label} on {day}: {value}, {moved} {by} from {earlier} "
            "(the same weekday a week earlier)"
        )
    band = ev.band
    assert band is not None
    side = "below" if ev.direction == "low" else "above"
    return (
        f"{label} on {day}: {value}, unusually {ev.direction}: {side} its usual range "
        f"for a {ev.day:%A} of {shown.value(band.low)}–{shown.value(band.high)} "
        f"(median of the 8 before: {shown.value(band.median)})"
    )


def day_alert(
    ev: Evaluation,
    context: AlertContext,
    series: Mapping[date, float | None],
    chart: bool = True,
    display: MetricDisplay | None = None,
    render: ChartRenderer = render_inline,
) -> AlertMessage:
    shown = display or mart_display(ev.rule)
    line = headline(ev, shown)
    text = f"Alert #{context.rule_id}: {line}"
    blocks = [
        _section(f":rotating_light: *Alert #{context.rule_id}* · {line}."),
        _context(_footer(ev.rule.describe(), context)),
        ask_button(full_answer_question(ev.rule), f"{shown.label}, last {CHART_DAYS} days"),
        *_missed_blocks(context.missed),
    ]
    charts = (metric_chart(ev, series, shown, render),) if chart else ()
    return AlertMessage(blocks, text, charts)


def experiment_alert(
    rule_text: str, experiment_id: str, event: str, detail: str, context: AlertContext
) -> AlertMessage:
    question = full_answer_question(AlertRule("ab", "ab", experiment_id=experiment_id))
    what = (
        "a sample ratio mismatch: the split of users isn't what was planned, so its "
        "results can't be trusted until that is explained"
        if event == "srm"
        else "a significant result"
    )
    line = f"Experiment `{experiment_id}` now shows {what}. {detail}".strip()
    blocks = [
        _section(f":rotating_light: *Alert #{context.rule_id}* · {line}"),
        _context(_footer(rule_text, context) + f" · details: `/kpi ab {experiment_id}`"),
        ask_button(question, "Experiment readout"),
        *_missed_blocks(context.missed),
    ]
    return AlertMessage(blocks, f"Alert #{context.rule_id}: {experiment_id}: {event}")


def ask_button(question: str, label: str) -> dict:
    """The button to the full answer (the Slack edge's re-ask action asks ``question``)."""
    return ask_button_block(question, f"Open: {label}", "kpi_alert_ask")


def metric_chart(
    ev: Evaluation,
    series: Mapping[date, float | None],
    display: MetricDisplay | None = None,
    render: ChartRenderer = render_inline,
) -> Chart:
    """The 28 days up to the alert's day, the day ringed; drawn by ``render`` (in
    ``serve``, the chart worker: the serving process imports no plotting library)."""
    shown = display or mart_display(ev.rule)
    days = [ev.day - timedelta(days=i) for i in range(CHART_DAYS - 1, -1, -1)]
    values = [series.get(d) for d in days]
    frame = Rows(
        ("day", "revenue"),
        tuple(zip(days, [float("nan") if v is None else float(v) for v in values], strict=True)),
    )
    title = f"{shown.plain_title}, last {CHART_DAYS} days to {fmt.day(ev.day)}"
    png = render(
        chart_data.alert_metric_chart,
        frame,
        title=title,
        label=shown.label,
        ylabel=f"{shown.label} per day",
        day=ev.day,
        day_text=f"{ev.day:%a %b} {ev.day.day}\n{shown.value(ev.value)}",
        currency="$" if shown.unit == "currency" else "",
    )
    return Chart(name=f"alert-{ev.rule.metric}", title=title, png=png)


def _footer(rule_text: str, context: AlertContext) -> str:
    who = f"<@{context.created_by}>" if context.created_by else "the CLI"
    as_of = fmt.timestamp(context.data_as_of) if context.data_as_of else "unknown"
    return (
        f"Rule `{rule_text}` set by {who} · data as of {as_of} · "
        f"pause it: `/kpi alert mute {context.rule_id} 7`"
    )


def _missed_blocks(missed: Sequence[Delivery]) -> list[dict]:
    if not missed:
        return []
    items = "; ".join(f"`{d.period}` ({d.error or 'unknown error'})" for d in missed[:5])
    more = f" and {len(missed) - 5} more" if len(missed) > 5 else ""
    return [
        _context(
            f":warning: {fmt.plural(len(missed), 'earlier alert')} in this channel couldn't "
            f"be delivered: {items}{more}."
        )
    ]


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]}
