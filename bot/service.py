"""The one service layer: a question in, an answer (figures + charts) out.

The terminal CLI, the Slack commands and the weekly digest all call ``KpiService``, so
the same question gets the same figures everywhere. Answers are plain dataclasses; the
renderers in ``bot.render`` turn them into text or Block Kit. Nothing here raises to
the caller: every failure becomes an ``ErrorAnswer`` with a specific, friendly message.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from bot.chart_workers import ChartRenderer, render_inline
from bot.core import charts
from bot.core import format as fmt
from bot.core.questions import (
    DigestCommand,
    ExperimentQuestion,
    HelpQuestion,
    ParseError,
    Question,
    RetentionQuestion,
    RevenueQuestion,
    escape_mrkdwn,
    parse_question,
)
from bot.core.retention import RetentionReport, retention_report
from bot.core.revenue import RevenueReport, revenue_report
from bot.core.stats import (
    ExperimentResult,
    ExperimentSettings,
    VariantData,
    analyze_experiment,
    proportion_interval,
)
from bot.warehouse.base import DataStatus, ExperimentInfo, MartReader, WarehouseError

log = logging.getLogger("bot.service")
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Freshness:
    data_as_of: datetime | None  # naive UTC
    checked_at: datetime  # naive UTC
    stale_after_hours: float

    @property
    def age_hours(self) -> float | None:
        if self.data_as_of is None:
            return None
        return (self.checked_at - self.data_as_of).total_seconds() / 3600

    @property
    def stale(self) -> bool:
        age = self.age_hours
        return age is None or age > self.stale_after_hours


@dataclass(frozen=True)
class Chart:
    name: str  # file stem, e.g. "revenue"
    title: str
    png: bytes


@dataclass(frozen=True)
class RevenueAnswer:
    question: RevenueQuestion
    report: RevenueReport
    freshness: Freshness
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class ExperimentAnswer:
    question: ExperimentQuestion
    info: ExperimentInfo
    result: ExperimentResult
    freshness: Freshness
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class ExperimentListAnswer:
    experiments: tuple[ExperimentInfo, ...]
    freshness: Freshness
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class RetentionAnswer:
    question: RetentionQuestion
    report: RetentionReport
    freshness: Freshness
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class HelpAnswer:
    topic: str | None
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class DigestCommandAnswer:
    """``digest …`` is handled by the Slack edge; the service only recognises it."""

    command: DigestCommand
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class ErrorAnswer:
    kind: str  # parse | unknown_experiment | empty | warehouse | internal
    message: str  # mrkdwn-safe: user text inside it is escaped
    example: str | None = None
    charts: tuple[Chart, ...] = ()


Answer = (
    RevenueAnswer
    | ExperimentAnswer
    | ExperimentListAnswer
    | RetentionAnswer
    | HelpAnswer
    | DigestCommandAnswer
    | ErrorAnswer
)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Answers are CPU-bound Python (mostly chart rendering), so more of them at once than
# this only fight over the GIL: no more answers per second, and the Slack acks that
# must run meanwhile wait longer (benchmarks/README.md: with 2 instead of no limit, 20
# concurrent /kpi senders saw ack p99 90 → 57 ms for a burst, 240 → 91 ms sustained, and
# the same throughput). Callers beyond the slots wait here; Slack I/O is not limited.
ANSWER_SLOTS = 2


class KpiService:
    def __init__(
        self,
        reader: MartReader,
        *,
        timezone: ZoneInfo = UTC_ZONE,
        stale_after_hours: float = 36.0,
        clock: Callable[[], datetime] = utc_now,
        answer_slots: int = ANSWER_SLOTS,
        render: ChartRenderer = render_inline,
    ) -> None:
        self.reader = reader
        self.timezone = timezone
        self.stale_after_hours = stale_after_hours
        self.clock = clock  # naive UTC now; injectable for tests and the digest
        self._slots = threading.BoundedSemaphore(answer_slots)
        self.render = render  # in this thread, or in worker processes (bot.chart_workers)

    def today(self) -> date:
        """Today in the reporting time zone: the as-of date of relative windows."""
        return self.clock().replace(tzinfo=UTC).astimezone(self.timezone).date()

    def ask(self, text: str, as_of: date | None = None) -> Answer:
        parsed = parse_question(text, as_of or self.today())
        if isinstance(parsed, ParseError):
            return ErrorAnswer("parse", parsed.message, parsed.example)
        return self.answer(parsed)

    def answer(self, question: Question) -> Answer:
        with self._slots:
            return self._answer(question)

    def _answer(self, question: Question) -> Answer:
        try:
            return self._dispatch(question)
        except WarehouseError as err:
            log.warning("warehouse error: %s", type(err).__name__)
            return ErrorAnswer("warehouse", str(err))
        except Exception:  # the last line of defence: a reply, never a stack trace
            ref = uuid.uuid4().hex[:8]
            log.exception("unexpected error answering %s (ref %s)", type(question).__name__, ref)
            return ErrorAnswer(
                "internal", f"Something went wrong on our side (ref `{ref}`). It's logged."
            )

    def _dispatch(self, question: Question) -> Answer:
        if isinstance(question, RevenueQuestion):
            return self.revenue(question)
        if isinstance(question, ExperimentQuestion):
            if question.experiment_id is None:
                return self.experiment_list()
            return self.experiment(question)
        if isinstance(question, RetentionQuestion):
            return self.retention(question)
        if isinstance(question, DigestCommand):
            return DigestCommandAnswer(question)
        assert isinstance(question, HelpQuestion)
        return HelpAnswer(question.topic)

    def freshness(self, status: DataStatus) -> Freshness:
        return Freshness(status.data_as_of, self.clock(), self.stale_after_hours)

    def revenue(self, question: RevenueQuestion) -> RevenueAnswer | ErrorAnswer:
        status = self.reader.data_status()
        windows = [question.current, question.previous]
        if question.last_year is not None:
            windows.append(question.last_year)
        daily = self.reader.revenue_daily(
            min(w.start for w in windows), max(w.end for w in windows)
        )
        report = revenue_report(
            daily,
            question.current,
            question.previous,
            question.last_year,
            status.first_day,
            status.last_day,
        )
        if not report.current.has_data:
            cover = (
                f"the data covers {status.first_day:%Y-%m-%d} to {status.last_day:%Y-%m-%d}"
                if status.first_day and status.last_day
                else "there is no revenue data yet"
            )
            w = question.current
            span = f"{w.start:%Y-%m-%d}" + (f" to {w.end:%Y-%m-%d}" if w.end != w.start else "")
            where = w.label if span in w.label else f"{w.label} ({span})"  # no echo twice
            return ErrorAnswer(
                "empty", f"No revenue data for {where}: {cover}.", "/kpi revenue last 30 days"
            )
        return RevenueAnswer(
            question, report, self.freshness(status), (revenue_chart(report, self.render),)
        )

    def experiment_list(self) -> ExperimentListAnswer:
        status = self.reader.data_status()
        return ExperimentListAnswer(tuple(self.reader.experiments()), self.freshness(status))

    def experiment(self, question: ExperimentQuestion) -> ExperimentAnswer | ErrorAnswer:
        known = {e.experiment_id: e for e in self.reader.experiments()}
        info = known.get(question.experiment_id or "")
        if info is None:
            names = ", ".join(f"`{name}`" for name in sorted(known)) or "none yet"
            return ErrorAnswer(
                "unknown_experiment",
                f"I don't know an experiment called "
                f"`{escape_mrkdwn(question.experiment_id or '')}`. Known experiments: {names}.",
                f"/kpi ab {sorted(known)[0]}" if known else "/kpi ab",
            )
        rows = self.reader.experiment_metrics(info.experiment_id)
        variants = [
            VariantData(
                name=str(r.variant),
                users=int(r.users),
                converters=int(r.converters),
                revenue_sum=float(r.revenue_sum),
                revenue_sum_squares=float(r.revenue_sum_squares),
            )
            for r in rows.itertuples(index=False)
        ]
        result = analyze_experiment(
            info.experiment_id,
            variants,
            ExperimentSettings(alpha=question.alpha),
            excluded_users=info.excluded_users,
        )
        status = self.reader.data_status()
        return ExperimentAnswer(
            question, info, result, self.freshness(status), (experiment_chart(result, self.render),)
        )

    def retention(self, question: RetentionQuestion) -> RetentionAnswer | ErrorAnswer:
        rows = self.reader.retention()
        if rows.empty:
            return ErrorAnswer(
                "empty",
                "There are no complete signup cohorts yet, so retention can't be shown.",
            )
        report = retention_report(rows, question.weeks)
        status = self.reader.data_status()
        return RetentionAnswer(
            question, report, self.freshness(status), (retention_chart(report, self.render),)
        )


def revenue_chart(report: RevenueReport, render: ChartRenderer = render_inline) -> Chart:
    current, previous = report.current, report.previous.baseline
    title = (
        f"Revenue {current.window.label}: {fmt.money(current.revenue)} "
        f"({fmt.pct(report.previous.revenue.delta_pct)} vs previous)"
    )
    png = render(
        charts.revenue_chart,
        _day_revenue(current.daily),
        _day_revenue(previous.daily),
        title=title,
        current_label=_window_range(current.window.start, current.window.end),
        previous_label=_window_range(previous.window.start, previous.window.end),
    )
    return Chart("revenue", title, png)


def experiment_chart(result: ExperimentResult, render: ChartRenderer = render_inline) -> Chart:
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
    png = render(
        charts.experiment_chart,
        bars,
        title=title,
        subtitle=f"{level * 100:.0f} % Wilson intervals · {result.verdict}",
    )
    return Chart("experiment", title, png)


def retention_chart(report: RetentionReport, render: ChartRenderer = render_inline) -> Chart:
    week1 = report.week1.rate
    title = f"Weekly retention by signup cohort (week-1 avg {fmt.rate(week1)})"
    png = render(charts.retention_heatmap, report.matrix, report.cohort_sizes, title=title)
    return Chart("retention", title, png)


def _day_revenue(daily: pd.DataFrame) -> pd.DataFrame:
    return daily[["day", "revenue"]].reset_index(drop=True)


def _window_range(start: date, end: date) -> str:
    return f"{start:%b %d} – {end:%b %d, %Y}" if start != end else f"{start:%b %d, %Y}"
