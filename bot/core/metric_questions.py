"""Metric questions and the vocabulary the metric grammar reads (pure data, no I/O).

The vocabulary (metric and dimension names, labels, which dimensions each metric has)
comes from the dbt semantic manifest through ``bot.warehouse.semantic``; the service
hands it to ``bot.core.questions.parse_question`` so core never loads anything itself.
The grammar itself is ``bot.core.metric_grammar``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.core.metrics import DimensionInfo, Grain, MetricInfo
from bot.core.understanding import Understanding
from bot.core.windows import DateWindow

Comparison = Literal["previous", "last_year"]
Listing = Literal["metrics", "dimensions"]
DEFAULT_TOP = 10
MAX_TOP = 50


@dataclass(frozen=True)
class Vocabulary:
    """What the metric grammar may name: every metric and dimension dbt defines."""

    metrics: tuple[MetricInfo, ...]
    dimensions: tuple[DimensionInfo, ...]
    # For the loose-phrasing front end (bot.core.phrasing): each dimension's known values
    # (`revenue in Brazil`) and the experiment ids (`how's the pricing test going`).
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    experiments: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        metrics: Mapping[str, MetricInfo] | Iterable[MetricInfo],
        dimensions: Mapping[str, DimensionInfo] | Iterable[DimensionInfo],
        values: Mapping[str, Iterable[str]] | None = None,
        experiments: Iterable[str] = (),
    ) -> Vocabulary:
        ms = metrics.values() if isinstance(metrics, Mapping) else metrics
        ds = dimensions.values() if isinstance(dimensions, Mapping) else dimensions
        return cls(
            tuple(sorted(ms, key=lambda m: m.name)),
            tuple(sorted(ds, key=lambda d: d.name)),
            tuple(sorted((d, tuple(v)) for d, v in (values or {}).items())),
            tuple(sorted(set(experiments))),
        )

    def metric(self, name: str) -> MetricInfo:
        return next(m for m in self.metrics if m.name == name)

    def dimension(self, name: str) -> DimensionInfo:
        return next(d for d in self.dimensions if d.name == name)


@dataclass(frozen=True)
class MetricFilter:
    """``where <dimension> = v`` / ``!= v`` / ``in (v1, v2)``: values as the person typed
    them (matched against the dimension's known values when answering)."""

    dimension: str
    values: tuple[str, ...]
    negate: bool = False  # `!=`: every known value but these


@dataclass(frozen=True)
class MetricQuestion:
    """A question in the metric grammar, or a listing (``metrics``, ``dimensions <m>``).

    ``previous`` is the comparison window: the previous window, or the same window last
    year with ``vs last year`` (``comparison``). Names are canonical (the manifest's).
    """

    metrics: tuple[str, ...] = ()
    current: DateWindow | None = None
    previous: DateWindow | None = None
    comparison: Comparison = "previous"
    group_by: str | None = None
    filters: tuple[MetricFilter, ...] = ()
    grain: Grain | None = None
    top: int | None = None  # None: DEFAULT_TOP rows of a breakdown
    listing: Listing | None = None  # set: list metrics / one metric's dimensions
    # Set by the loose-phrasing front end (bot.core.questions.Understanding); not compared.
    understood: Understanding | None = field(default=None, compare=False)

    @property
    def rows(self) -> int:
        return self.top or DEFAULT_TOP
