"""A metric answer's figures, assembled from the semantic layer's rows (pure).

The semantic layer computes every value over the span asked (ratios and distinct counts
recomputed, never summed or averaged from daily values); this module only arranges
them: totals against the comparison window, a breakdown's top rows and its "all
others", a series with its periods filled in and partial periods marked
(shared/METRICS.md, "Semantic layer").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core import format as fmt
from bot.core.metrics import PERIOD_COLUMN, DimensionFilter, Grain, MetricInfo
from bot.core.table import Rows, is_null
from bot.core.windows import DateWindow, period_end, period_start

NOT_SET = "(not set)"  # a NULL dimension value
OTHERS = "All others"


@dataclass(frozen=True)
class Figure:
    """One value against the comparison window's."""

    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        if _missing(self.current) or _missing(self.previous):
            return None
        return self.current - self.previous  # type: ignore[operator]

    @property
    def delta_pct(self) -> float | None:
        """delta / previous × 100; None when previous is 0 or missing ("n/a")."""
        delta = self.delta
        if delta is None or not self.previous:
            return None
        return delta / self.previous * 100  # type: ignore[operator]


@dataclass(frozen=True)
class Row:
    """One value of the dimension (or "All others": ``folded`` values folded in)."""

    label: str
    figures: tuple[Figure, ...]  # one per metric, in the question's order
    folded: int = 0


@dataclass(frozen=True)
class Series:
    """Values per period of a grain, the comparison window's aligned by position."""

    grain: Grain
    periods: tuple[date, ...]
    previous_periods: tuple[date, ...]
    values: Mapping[str, tuple[float | None, ...]]  # metric -> one value per period
    previous_values: Mapping[str, tuple[float | None, ...]]
    partial_first: bool
    partial_last: bool


@dataclass(frozen=True)
class MetricReport:
    metrics: tuple[MetricInfo, ...]
    current: DateWindow
    previous: DateWindow
    totals: tuple[Figure, ...]
    dimension: str | None = None
    rows: tuple[Row, ...] = ()
    values_count: int = 0  # how many values the dimension has in the window
    series: Series | None = None
    notes: tuple[str, ...] = ()
    filters: tuple[DimensionFilter, ...] = ()  # as run: known values (`!=` as its complement)

    @property
    def restricted(self) -> bool:
        return any(m.restricted for m in self.metrics)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def clean(value: object) -> float | None:
    """A result cell as a float, NULL/NaN as None."""
    if is_null(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def value_text(value: float | None, unit: str) -> str:
    """A metric value as people read it: money, a count or a percentage."""
    if unit == "currency":
        return fmt.money(value)
    if unit == "count":
        return fmt.count(value)
    if unit == "ratio":
        return fmt.rate(value)
    return "n/a" if _missing(value) else f"{value:,.4g}"


# --- totals ------------------------------------------------------------------------------


def totals(metrics: Sequence[MetricInfo], current: Rows, previous: Rows) -> tuple[Figure, ...]:
    """One-row results of the window and the comparison window."""

    def first(frame: Rows, name: str) -> float | None:
        return clean(frame[name][0]) if len(frame) else None

    return tuple(
        Figure(
            _zero_if_empty(first(current, m.name), m), _zero_if_empty(first(previous, m.name), m)
        )
        for m in metrics
    )


def summed_totals(
    metrics: Sequence[MetricInfo], current: Rows, previous: Rows
) -> tuple[Figure, ...]:
    """Totals of additive metrics from a breakdown's groups (all of them, NULL included)."""
    for metric in metrics:
        if not metric.additive:
            raise ValueError(f"{metric.name} isn't additive: its groups don't sum to its total")

    def total(frame: Rows, name: str) -> float:
        return float(sum(clean(v) or 0.0 for v in frame[name]))

    return tuple(Figure(total(current, m.name), total(previous, m.name)) for m in metrics)


def _zero_if_empty(value: float | None, metric: MetricInfo) -> float | None:
    """An additive metric over no rows is 0 (days without orders count as 0)."""
    return 0.0 if value is None and metric.additive else value


# --- breakdowns --------------------------------------------------------------------------


def ranked_labels(frame: Rows, dimension: str, first_metric: str) -> list[str]:
    """The dimension's values, by the first metric descending, ties by name."""
    keyed = [
        (clean(v), _label(d)) for d, v in zip(frame[dimension], frame[first_metric], strict=True)
    ]
    keyed.sort(key=lambda item: (item[0] is None, -(item[0] or 0.0), item[1]))
    return [label for _, label in keyed]


def _label(value: object) -> str:
    if is_null(value):
        return NOT_SET
    return str(value)


def _by_label(frame: Rows, dimension: str, metric: str) -> dict[str, float | None]:
    return {_label(d): clean(v) for d, v in zip(frame[dimension], frame[metric], strict=True)}


def breakdown_rows(
    metrics: Sequence[MetricInfo],
    dimension: str,
    current: Rows,
    previous: Rows,
    top: int,
    others: Sequence[Figure] | None,
) -> tuple[tuple[Row, ...], list[str]]:
    """The top rows (and "All others" when ``others`` is given) plus the labels that
    were folded into "All others"."""
    labels = ranked_labels(current, dimension, metrics[0].name)
    shown, rest = labels[:top], labels[top:]
    now = {m.name: _by_label(current, dimension, m.name) for m in metrics}
    before = {m.name: _by_label(previous, dimension, m.name) for m in metrics}
    rows = [
        Row(
            label,
            tuple(
                Figure(
                    _zero_if_empty(now[m.name].get(label), m),
                    _zero_if_empty(before[m.name].get(label), m),
                )
                for m in metrics
            ),
        )
        for label in shown
    ]
    if rest and others is not None:
        rows.append(Row(OTHERS, tuple(others), folded=len(rest)))
    return tuple(rows), rest


def additive_others(
    metric: MetricInfo,
    total: Figure,
    current: Rows,
    previous: Rows,
    dimension: str,
    shown: Sequence[str],
) -> Figure:
    """An additive metric's "All others": the total minus the shown rows."""
    now = _by_label(current, dimension, metric.name)
    before = _by_label(previous, dimension, metric.name)

    def rest(whole: float | None, parts: Mapping[str, float | None]) -> float | None:
        if whole is None:
            return None
        return whole - sum(parts.get(label) or 0.0 for label in shown)

    return Figure(rest(total.current, now), rest(total.previous, before))


# --- series ------------------------------------------------------------------------------


def periods(window: DateWindow, grain: Grain) -> list[date]:
    """The start of every period of ``grain`` the window touches (weeks: Mondays)."""
    if grain == "day":
        return window.dates()
    period = "week" if grain == "week" else "month"
    out, start = [], period_start(window.start, period)
    while start <= window.end:
        out.append(start)
        start = period_end(start, period) + timedelta(days=1)
    return out


def is_partial(window: DateWindow, grain: Grain) -> tuple[bool, bool]:
    """Does the window cut its first / last period short?"""
    if grain == "day":
        return False, False
    period = "week" if grain == "week" else "month"
    return (
        period_start(window.start, period) < window.start,
        period_end(window.end, period) > window.end,
    )


def series(
    metrics: Sequence[MetricInfo],
    grain: Grain,
    current_window: DateWindow,
    previous_window: DateWindow,
    current: Rows,
    previous: Rows,
) -> Series:
    """Every period filled in (an additive metric's empty period is 0, a ratio's None)."""
    now, before = periods(current_window, grain), periods(previous_window, grain)

    def values(frame: Rows, days: list[date], metric: MetricInfo) -> tuple:
        found = {p: clean(v) for p, v in zip(frame[PERIOD_COLUMN], frame[metric.name], strict=True)}
        return tuple(_zero_if_empty(found.get(p), metric) for p in days)

    first, last = is_partial(current_window, grain)
    return Series(
        grain=grain,
        periods=tuple(now),
        previous_periods=tuple(before),
        values={m.name: values(current, now, m) for m in metrics},
        previous_values={m.name: values(previous, before, m) for m in metrics},
        partial_first=first,
        partial_last=last,
    )


def default_grain(window: DateWindow) -> Grain:
    """The chart's grain when none is asked: days up to ~3 months, then weeks, months."""
    if window.days <= 92:
        return "day"
    return "week" if window.days <= 366 else "month"
