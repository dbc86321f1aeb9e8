"""The warehouse interface: named queries over the dbt marts, parameters always bound.

Adapters implement ``run(name, params)`` returning ``bot.core.table.Rows`` (Python
values, ``None`` for NULL: no DataFrame library on the answering path); ``MartReader``
turns rows into the plain values the service needs. Nothing here knows about Slack.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from bot.core.funnel import FunnelCounts, SegmentCounts, VariantCounts
from bot.core.table import Rows, as_date, is_null

log = logging.getLogger("bot.warehouse")

QUERY_DIR = Path(__file__).with_name("queries")
_QUERY_NAME = re.compile(r"^[a-z_]+$")
_PARAM = re.compile(r"@([a-z_]+)\b")
_MARTS_PLACEHOLDER = "{{ marts }}"
# The breakdowns of the session funnel and their query files. A dimension picks a file, it
# is never formatted into SQL.
FUNNEL_SEGMENT_QUERIES = {
    "traffic_source": "funnel_by_traffic_source",
    "browser": "funnel_by_browser",
}
_SESSION_STEPS = ("sessions", "product_sessions", "cart_sessions", "purchase_sessions")
_USER_STEPS = ("users", "product_users", "cart_users", "purchase_users")


class WarehouseError(Exception):
    """A failure the user should hear about in plain words (``str(err)`` is that text)."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse can't be reached: file missing or locked, network or auth failure."""


class WarehouseTimeout(WarehouseError):
    """A query ran past the configured time limit."""


class WarehouseNotBuilt(WarehouseError):
    """The marts don't exist yet (``python -m bot build`` has not run)."""


class Warehouse(Protocol):
    engine: str

    def run(self, name: str, params: dict[str, Any] | None = None) -> Rows:
        """Run the named query from ``queries/`` with bound parameters."""
        ...

    def close(self) -> None: ...


@cache
def load_query(name: str) -> str:
    """The SQL text of a named query file (names are ours, never user text)."""
    if not _QUERY_NAME.match(name):
        raise ValueError(f"not a query name: {name!r}")
    return (QUERY_DIR / f"{name}.sql").read_text()


def render_query(name: str, marts: str, param_style: str) -> tuple[str, list[str]]:
    """Fill in the marts relation prefix and convert ``@param`` to the engine's style.

    Returns the SQL and the parameter names it uses. ``marts`` comes from settings and is
    validated by the adapter; user values only ever travel as bound parameters.
    """
    sql = load_query(name).replace(_MARTS_PLACEHOLDER, marts)
    names = _PARAM.findall(sql)
    if param_style == "$":
        sql = _PARAM.sub(r"$\1", sql)
    return sql, sorted(set(names))


def check_params(name: str, expected: list[str], params: dict[str, Any]) -> None:
    if set(expected) != set(params):
        raise ValueError(f"query {name} takes {expected}, got {sorted(params)}")


# ab_metrics' CUPED sufficient statistics (docs/EXPERIMENTS_METHODS.md, "CUPED").
CUPED_COLUMNS = (
    "pre_revenue_sum",
    "pre_revenue_sum_squares",
    "revenue_pre_revenue_sum_products",
)


@dataclass(frozen=True)
class DataStatus:
    first_day: date | None
    last_day: date | None
    data_as_of: datetime | None


@dataclass(frozen=True)
class ExperimentInfo:
    experiment_id: str
    variants: int
    users: int
    excluded_users: int
    first_assigned_at: datetime | None
    last_assigned_at: datetime | None


class MartReader:
    """Typed reads of the marts, engine-agnostic."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def data_status(self) -> DataStatus:
        row = self.warehouse.run("data_status").first() or {}
        return DataStatus(
            first_day=to_date(row.get("first_day")),
            last_day=to_date(row.get("last_day")),
            data_as_of=_as_datetime(row.get("data_as_of")),
        )

    def revenue_daily(self, start_day: date, end_day: date) -> Rows:
        """Columns day (date), orders (int), revenue (float), one row per day in the mart."""
        rows = self.warehouse.run("revenue_daily", {"start_day": start_day, "end_day": end_day})
        return Rows(
            ("day", "orders", "revenue"),
            tuple(
                (to_date(r["day"]), int(r["orders"]), float(r["revenue"])) for r in rows.records()
            ),
        )

    def experiments(self) -> list[ExperimentInfo]:
        rows = self.warehouse.run("experiments")
        return [
            ExperimentInfo(
                experiment_id=str(r["experiment_id"]),
                variants=int(r["variants"]),
                users=int(r["users"]),
                excluded_users=int(r["excluded_users"]),
                first_assigned_at=_as_datetime(r["first_assigned_at"]),
                last_assigned_at=_as_datetime(r["last_assigned_at"]),
            )
            for r in rows.records()
        ]

    def experiment_metrics(self, experiment_id: str) -> Rows:
        """Columns variant, users, converters, revenue_sum, revenue_sum_squares and the
        CUPED sums pre_revenue_sum, pre_revenue_sum_squares,
        revenue_pre_revenue_sum_products (float, NaN when the mart has no value)."""
        rows = self.warehouse.run("experiment_metrics", {"experiment_id": experiment_id})
        columns = (
            "variant",
            "users",
            "converters",
            "revenue_sum",
            "revenue_sum_squares",
            *CUPED_COLUMNS,
        )
        return Rows(
            columns,
            tuple(
                (
                    r["variant"],
                    int(r["users"]),
                    int(r["converters"]),
                    *(_as_float(r[c]) for c in columns[3:]),
                )
                for r in rows.records()
            ),
        )

    def experiment_registry(self, experiment_id: str) -> dict[str, Any] | None:
        """The experiment's ``ab_registry`` row (missing values None, dates as dates), or
        None when the mart has no row for it."""
        row = self.warehouse.run("experiment_registry", {"experiment_id": experiment_id}).first()
        if row is None:
            return None
        out = {key: _none_if_missing(value) for key, value in row.items()}
        for key in ("start_date", "planned_end_date"):
            out[key] = to_date(out[key])
        if out["planned_users_per_arm"] is not None:
            out["planned_users_per_arm"] = int(out["planned_users_per_arm"])
        out["registered"] = bool(out["registered"])
        return out

    def retention(self) -> Rows:
        """Columns cohort_week (date), week_n, cohort_size, active_users, retention_rate."""
        rows = self.warehouse.run("retention")
        return Rows(
            ("cohort_week", "week_n", "cohort_size", "active_users", "retention_rate"),
            tuple(
                (
                    to_date(r["cohort_week"]),
                    int(r["week_n"]),
                    int(r["cohort_size"]),
                    int(r["active_users"]),
                    float(r["retention_rate"]),
                )
                for r in rows.records()
            ),
        )

    def funnel_window(self, start_day: date, end_day: date) -> FunnelCounts:
        """Closed session-funnel counts of the sessions that started in [start, end]."""
        row = self.warehouse.run(
            "funnel_window", {"start_day": start_day, "end_day": end_day}
        ).first()
        if row is None:  # an aggregate returns one row; be safe on an engine that doesn't
            return FunnelCounts(0, 0, 0, 0)
        return FunnelCounts(*(_as_count(row[c]) for c in _SESSION_STEPS))

    def funnel_windows(
        self, start_day: date, end_day: date, previous_start: date, previous_end: date
    ) -> tuple[FunnelCounts, FunnelCounts]:
        """``funnel_window`` of a window and of the window it is compared with, in one
        query (a `vs previous` / `vs last year` question pays one round trip, not two)."""
        row = self.warehouse.run(
            "funnel_windows",
            {
                "start_day": start_day,
                "end_day": end_day,
                "previous_start_day": previous_start,
                "previous_end_day": previous_end,
            },
        ).first()
        if row is None:
            return FunnelCounts(0, 0, 0, 0), FunnelCounts(0, 0, 0, 0)
        current = FunnelCounts(*(_as_count(row[c]) for c in _SESSION_STEPS))
        previous = FunnelCounts(*(_as_count(row[f"previous_{c}"]) for c in _SESSION_STEPS))
        return current, previous

    def funnel_segments(
        self, dimension: str, start_day: date, end_day: date
    ) -> list[SegmentCounts]:
        """Closed session-funnel counts per value of ``traffic_source`` or ``browser``,
        most sessions first (every value; the core keeps the top ones)."""
        name = FUNNEL_SEGMENT_QUERIES.get(dimension)
        if name is None:
            raise ValueError(f"not a funnel dimension: {dimension!r}")
        rows = self.warehouse.run(name, {"start_day": start_day, "end_day": end_day})
        return [
            SegmentCounts(
                str(row["segment"]), FunnelCounts(*(_as_count(row[c]) for c in _SESSION_STEPS))
            )
            for row in rows.records()
        ]

    def experiment_funnel(self, experiment_id: str) -> list[VariantCounts]:
        """Closed user-level funnel per variant of one experiment (empty when unknown)."""
        rows = self.warehouse.run("experiment_funnel", {"experiment_id": experiment_id})
        return [
            VariantCounts(
                str(row["variant"]), FunnelCounts(*(_as_count(row[c]) for c in _USER_STEPS))
            )
            for row in rows.records()
        ]


def _as_count(value: Any) -> int:
    """A count from either engine (DuckDB sums are HUGEINT, read as Python int);
    NULL (a sum over no rows) is 0."""
    if is_null(value):
        return 0
    return int(value)


def _as_float(value: Any) -> float:
    """A float column's value, NULL as NaN (as a float64 column held it)."""
    return math.nan if is_null(value) else float(value)


def _none_if_missing(value: Any) -> Any:
    """NULL arrives as None (or NaN, NaT, pd.NA from a DataFrame-returning engine)."""
    if is_null(value):
        return None
    return value.item() if hasattr(value, "item") else value  # numpy scalar → Python


def to_date(value: Any) -> date | None:
    """A mart value (date, datetime, pandas Timestamp, ISO string or null) as a date."""
    return as_date(value)


def _as_datetime(value: Any) -> datetime | None:
    """Timestamps come back naive (DuckDB) or aware (BigQuery); both mean UTC."""
    if is_null(value):
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # A plain datetime (not a library's subclass of it), as pandas' to_pydatetime gave.
    return datetime(*value.timetuple()[:6], value.microsecond)
