"""What an answer is: plain dataclasses shared by the service, the renderers and the edges.

They sit below ``bot.render`` and ``bot.service`` (docs/ARCHITECTURE.md): the renderers
read them, the answerers in ``bot.answerers`` build them, the service hands them out.
Charts are attached only when the caller will show them (``KpiService.answer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.alerts import AlertCommand
from bot.core.funnel import FunnelReport
from bot.core.metric_questions import MetricQuestion
from bot.core.metric_report import MetricReport
from bot.core.metrics import DimensionInfo, MetricInfo
from bot.core.questions import (
    DigestCommand,
    ExperimentQuestion,
    FunnelQuestion,
    ParseError,
    RetentionQuestion,
    RevenueQuestion,
)
from bot.core.retention import RetentionReport
from bot.core.revenue import RevenueReport
from bot.core.stats import ExperimentResult
from bot.core.understanding import Understanding
from bot.warehouse.base import ExperimentInfo


def naive_utc_now() -> datetime:
    """Now in UTC without tzinfo: the warehouse's timestamps are naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


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
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class ExperimentAnswer:
    question: ExperimentQuestion
    info: ExperimentInfo
    result: ExperimentResult
    freshness: Freshness
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class ExperimentListAnswer:
    experiments: tuple[ExperimentInfo, ...]
    freshness: Freshness
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class RetentionAnswer:
    question: RetentionQuestion
    report: RetentionReport
    freshness: Freshness
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class FunnelAnswer:
    question: FunnelQuestion
    report: FunnelReport  # kind: window | segments | experiment
    freshness: Freshness
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class HelpAnswer:
    topic: str | None
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class DigestCommandAnswer:
    """``digest …`` is handled by the Slack edge; the service only recognises it."""

    command: DigestCommand
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class AlertCommandAnswer:
    """``alert …`` is handled by the Slack edge (``bot.slack.commands.alerts``)."""

    command: AlertCommand
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class ErrorAnswer:
    kind: str  # parse | unknown_experiment | empty | warehouse | internal | refused
    message: str  # mrkdwn-safe: user text inside it is escaped
    example: str | None = None
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading
    # Canonical questions offered as buttons (action_id kpi_ask_question): the readings
    # of an ambiguous question, the corrections of a misspelt one.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricAnswer:
    """A question in the metric grammar answered by the semantic layer."""

    question: MetricQuestion
    report: MetricReport
    freshness: Freshness
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


@dataclass(frozen=True)
class MetricCatalogAnswer:
    """``metrics`` (every metric) or ``dimensions <metric>`` (one metric's)."""

    question: MetricQuestion
    metrics: tuple[MetricInfo, ...]
    dimensions: tuple[DimensionInfo, ...]
    charts: tuple[Chart, ...] = ()
    understood: Understanding | None = None  # a loosely phrased question's reading


Answer = (
    RevenueAnswer
    | ExperimentAnswer
    | ExperimentListAnswer
    | RetentionAnswer
    | FunnelAnswer
    | HelpAnswer
    | DigestCommandAnswer
    | AlertCommandAnswer
    | ErrorAnswer
    | MetricAnswer
    | MetricCatalogAnswer
)


def parse_error_answer(error: ParseError) -> ErrorAnswer:
    """The reply to a question that couldn't be read (its offered readings kept)."""
    return ErrorAnswer("parse", error.message, error.example, choices=error.choices)
