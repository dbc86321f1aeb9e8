"""What a chart is drawn from, and the charts by name, without the drawing library.

The serving process builds a chart's arguments (plain data: these dataclasses,
``bot.core.table.Rows``/``Grid``, lists) and hands them with a chart *name* to the
renderer: inline (the CLI) or a chart worker process (``serve``). Only the process that
draws imports ``bot.core.charts`` and matplotlib; the serving process never does
(tests/test_footprint.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VariantBar:
    name: str
    rate: float  # conversion rate in [0, 1]
    ci_low: float | None  # None: no interval (no whisker drawn)
    ci_high: float | None
    users: int
    is_control: bool


@dataclass(frozen=True)
class FunnelSeries:
    """One funnel drawn on the chart: a window, the previous window, or a variant."""

    name: str  # legend label, e.g. "Oct 26 – Nov 24" or "control"
    counts: tuple[int, ...]  # one per step, the entry step (sessions / users) first
    is_reference: bool  # previous window or control: drawn grey, labels muted


@dataclass(frozen=True)
class ChartFunction:
    """A chart function of ``bot.core.charts`` by name: calling it imports the charts
    module (matplotlib) in the process that draws; pickling it sends only the name."""

    name: str

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return self.name

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        from bot.core import charts

        return getattr(charts, self.name)(*args, **kwargs)


revenue_chart = ChartFunction("revenue_chart")
experiment_chart = ChartFunction("experiment_chart")
retention_heatmap = ChartFunction("retention_heatmap")
funnel_chart = ChartFunction("funnel_chart")
metric_bar_chart = ChartFunction("metric_bar_chart")
metric_line_chart = ChartFunction("metric_line_chart")
alert_metric_chart = ChartFunction("alert_metric_chart")
