"""Metric questions and the semantic layer's vocabulary, as plain data (pure: no I/O).

The metrics and dimensions themselves are defined once, in the dbt project's semantic
models (dbt_project/models/marts/semantic); bot/warehouse/semantic.py reads them and
answers a ``MetricRequest``. These types are what the layers hand each other: the parser
builds a request from a person's words, the warehouse answers it, the renderer shows it.
Dimension names are plain (``country``, ``category``): the entity prefix MetricFlow needs
(``user__country``) never leaves the warehouse layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
PERIOD_COLUMN = "period"  # the result column holding a grain's period start (a date)


@dataclass(frozen=True)
class DimensionFilter:
    """Keep rows whose ``dimension`` is one of ``values`` (matched case-insensitively
    against the dimension's known values; an unknown value is an error, not an empty
    answer)."""

    dimension: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class MetricRequest:
    """One metric question: metrics over a window, optionally by a dimension and/or a grain.

    ``start``/``end`` bound the window inclusively (UTC dates; None leaves that side
    open). ``order_by`` names metrics, the group-by dimension or ``period``, a leading
    ``-`` meaning descending; empty means: by period when there is a grain, else by the
    first metric descending, ties by the dimension's value. ``limit`` caps the rows.
    """

    metrics: tuple[str, ...]
    group_by: str | None = None
    filters: tuple[DimensionFilter, ...] = ()
    start: date | None = None
    end: date | None = None
    grain: Grain | None = None
    order_by: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(frozen=True)
class DimensionInfo:
    """A dimension by its plain name, with the label and description from dbt."""

    name: str
    label: str
    description: str


@dataclass(frozen=True)
class MetricInfo:
    """A metric as dbt defines it.

    ``restricted``: derived from revenue (the metric's ``meta.restricted`` in dbt), so it
    obeys the revenue allowlists. ``additive``: a sum or count, so group values may be
    summed (an "all others" row); ratios and distinct counts must be recomputed instead.
    ``dimensions``: plain names of the dimensions it can be broken down or filtered by.
    """

    name: str
    label: str
    description: str
    restricted: bool
    additive: bool
    kind: str  # MetricFlow's metric type: simple, ratio, derived, ...
    dimensions: tuple[str, ...]
    unit: str = ""  # meta.unit: currency, count, ratio ("" when not declared)
    meta: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
