"""The semantic layer on DuckDB, checked against independent SQL over the raw tables.

``built_db`` is a real generated warehouse built by a real ``dbt build`` (which also
keeps dbt's semantic manifest in dbt_project/target). Every expected number is
recomputed here from the raw ``thelook`` tables with SQL written from METRICS.md, never
from the dbt models or MetricFlow's SQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bot.core.metrics import DimensionFilter, MetricRequest
from bot.warehouse.base import WarehouseNotBuilt
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from bot.warehouse.semantic import (
    DEFAULT_MANIFEST_PATH,
    SemanticLayer,
    SemanticRequestError,
)
from tests.conftest import DEMO_END

START = DEMO_END - timedelta(days=119)  # a 120-day window ending on the last day of data
END = DEMO_END
REL = 1e-9
ROOT = Path(__file__).resolve().parent.parent

# shared/METRICS.md, "Semantic layer": metric -> (restricted, dimensions by plain name)
USER_DIMS = {"traffic_source", "country", "gender", "age_band"}
ITEM_DIMS = USER_DIMS | {"category", "brand", "department"}
CONTRACT = {
    "revenue": (True, ITEM_DIMS),
    "orders": (False, USER_DIMS),
    "aov": (True, USER_DIMS),
    "items_sold": (False, ITEM_DIMS),
    "gross_margin": (True, ITEM_DIMS),
    "buyers": (False, USER_DIMS),
    "new_users": (False, USER_DIMS),
    "sessions": (False, {"browser", "traffic_source"}),
    "cancellation_rate": (False, USER_DIMS),
}


@pytest.fixture(scope="module")
def warehouse(built_db: Path):
    wh = DuckDBWarehouse(built_db)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def semantic(warehouse: DuckDBWarehouse) -> SemanticLayer:
    return SemanticLayer(warehouse)


@pytest.fixture(scope="module")
def raw(built_db: Path):
    connection = duckdb.connect(str(built_db), read_only=True)
    yield connection
    connection.close()


def _raw(raw, sql: str, *params) -> pd.DataFrame:
    return raw.execute(sql, list(params)).df()


def _by(frame: pd.DataFrame, key: str, value: str) -> dict:
    return {k: v for k, v in zip(frame[key], frame[value], strict=True)}


def _assert_close(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=REL), key


# Complete orders in the window with their ordering user, by independent SQL.
COMPLETE_ORDERS = """
    select o.order_id, o.user_id, cast(o.created_at as date) as day
    from thelook.orders as o
    where o.status = 'Complete' and cast(o.created_at as date) between ? and ?
"""


# --- vocabulary ---------------------------------------------------------------------------


def test_every_contract_metric_exists_with_label_description_and_restriction(semantic) -> None:
    metrics = semantic.metrics()
    for name, (restricted, dimensions) in CONTRACT.items():
        info = metrics[name]
        assert info.label.strip() and info.label != name, name
        assert len(info.description) > 20, name
        assert info.restricted is restricted, name
        assert set(info.dimensions) == dimensions, name


def test_restricted_flag_comes_from_dbt_meta(semantic) -> None:
    manifest = json.loads(DEFAULT_MANIFEST_PATH.read_text())
    from_meta = {
        m["name"]
        for m in manifest["metrics"]
        if (m.get("config") or {}).get("meta", {}).get("restricted")
    }
    assert from_meta == {name for name, info in semantic.metrics().items() if info.restricted}
    assert from_meta == {"revenue", "aov", "gross_margin"}


def test_additivity_follows_the_aggregation(semantic) -> None:
    metrics = semantic.metrics()
    assert all(metrics[m].additive for m in ("revenue", "orders", "items_sold", "new_users"))
    assert not any(metrics[m].additive for m in ("aov", "buyers", "sessions", "cancellation_rate"))


def test_dimensions_have_plain_names_labels_and_known_values(semantic, raw) -> None:
    dims = semantic.dimensions()
    assert set(dims) == ITEM_DIMS | {"browser"}
    assert all("__" not in name and dims[name].label for name in dims)
    assert semantic.dimension_values("age_band") == (
        "25-34",
        "35-44",
        "45-54",
        "55+",
        "under 25",
    )
    expected = sorted(
        r[0] for r in raw.execute("select distinct category from thelook.products").fetchall()
    )
    assert list(semantic.dimension_values("category")) == expected


# --- numbers against the raw tables -------------------------------------------------------


def test_revenue_by_traffic_source_matches_raw(semantic, raw) -> None:
    result = semantic.query(
        MetricRequest(metrics=("revenue",), group_by="traffic_source", start=START, end=END)
    )
    expected = _raw(
        raw,
        f"""select u.traffic_source, sum(i.sale_price) as revenue
            from ({COMPLETE_ORDERS}) as o
            join thelook.order_items as i on i.order_id = o.order_id
            join thelook.users as u on u.id = o.user_id
            group by 1""",
        START,
        END,
    )
    _assert_close(
        _by(result.frame, "traffic_source", "revenue"), _by(expected, "traffic_source", "revenue")
    )
    # Sorted by revenue, descending (the default for a breakdown).
    assert list(result.frame["revenue"]) == sorted(result.frame["revenue"], reverse=True)


def test_orders_by_country_matches_raw(semantic, raw) -> None:
    result = semantic.query(
        MetricRequest(metrics=("orders",), group_by="country", start=START, end=END)
    )
    expected = _raw(
        raw,
        f"""select u.country, count(distinct o.order_id) as orders
            from ({COMPLETE_ORDERS}) as o join thelook.users as u on u.id = o.user_id
            group by 1""",
        START,
        END,
    )
    assert _by(result.frame, "country", "orders") == _by(expected, "country", "orders")
    assert str(result.frame["orders"].dtype) == "Int64"


def test_gross_margin_by_category_matches_raw(semantic, raw) -> None:
    result = semantic.query(
        MetricRequest(metrics=("gross_margin",), group_by="category", start=START, end=END)
    )
    expected = _raw(
        raw,
        f"""select p.category, sum(i.sale_price - p.cost) as gross_margin
            from ({COMPLETE_ORDERS}) as o
            join thelook.order_items as i on i.order_id = o.order_id
            join thelook.products as p on p.id = i.product_id
            group by 1""",
        START,
        END,
    )
    _assert_close(
        _by(result.frame, "category", "gross_margin"), _by(expected, "category", "gross_margin")
    )


def test_revenue_by_category_adds_up_to_total_revenue(semantic) -> None:
    by_category = semantic.query(
        MetricRequest(metrics=("revenue",), group_by="category", start=START, end=END)
    ).frame
    total = semantic.query(MetricRequest(metrics=("revenue",), start=START, end=END)).frame
    assert by_category["revenue"].sum() == pytest.approx(total["revenue"].iloc[0], rel=REL)


def test_new_users_by_week_matches_raw_monday_weeks(semantic, raw) -> None:
    result = semantic.query(
        MetricRequest(metrics=("new_users",), grain="week", start=START, end=END)
    )
    expected = _raw(
        raw,
        """select cast(created_at as date) - cast(isodow(created_at) - 1 as integer) as week,
                  count(*) as new_users
           from thelook.users
           where cast(created_at as date) between ? and ?
           group by 1 order by 1""",
        START,
        END,
    )
    assert list(result.frame["period"]) == [d.date() for d in expected["week"]]
    assert all(d.weekday() == 0 for d in result.frame["period"])  # Mondays
    assert list(result.frame["new_users"]) == list(expected["new_users"])


def test_aov_with_a_filter_matches_raw_and_is_a_ratio_of_totals(semantic, raw) -> None:
    result = semantic.query(
        MetricRequest(
            metrics=("aov", "revenue", "orders"),
            filters=(DimensionFilter("country", ("brasil", "UNITED STATES")),),
            start=START,
            end=END,
        )
    )
    revenue, orders = raw.execute(
        f"""select
                (select sum(i.sale_price) from ({COMPLETE_ORDERS}) as o
                   join thelook.order_items as i on i.order_id = o.order_id
                   join thelook.users as u on u.id = o.user_id
                   where u.country in ('Brasil', 'United States')),
                (select count(distinct o.order_id) from ({COMPLETE_ORDERS}) as o
                   join thelook.users as u on u.id = o.user_id
                   where u.country in ('Brasil', 'United States'))""",
        [START, END, START, END],
    ).fetchone()
    row = result.frame.iloc[0]
    assert row["orders"] == orders
    assert row["revenue"] == pytest.approx(revenue, rel=REL)
    assert row["aov"] == pytest.approx(revenue / orders, rel=REL)
    assert "Brasil" not in result.sql and "United States" not in result.sql  # bound, not pasted


def test_sessions_by_browser_match_raw(semantic, raw) -> None:
    result = semantic.query(
        MetricRequest(metrics=("sessions",), group_by="browser", start=START, end=END)
    )
    expected = _raw(
        raw,
        """with first_browser as (
               select session_id, arg_min(browser, (created_at, sequence_number, id)) as browser
               from thelook.events group by session_id)
           select f.browser, count(distinct e.session_id) as sessions
           from thelook.events as e join first_browser as f using (session_id)
           where cast(e.created_at as date) between ? and ?
           group by 1""",
        START,
        END,
    )
    assert _by(result.frame, "browser", "sessions") == _by(expected, "browser", "sessions")


def test_traffic_source_is_the_sessions_own_for_sessions(semantic, raw) -> None:
    """Sessions filter by the session's traffic source (Adwords exists only there); order
    metrics by the user's acquisition channel, where Adwords is unknown."""
    assert "Adwords" in semantic.dimension_values("traffic_source", ("sessions",))
    assert "Adwords" not in semantic.dimension_values("traffic_source", ("revenue",))
    frame = semantic.query(
        MetricRequest(
            metrics=("sessions",),
            filters=(DimensionFilter("traffic_source", ("adwords",)),),
            start=START,
            end=END,
        )
    ).frame
    expected = raw.execute(
        """with first_source as (
               select session_id,
                      arg_min(traffic_source, (created_at, sequence_number, id)) as source
               from thelook.events group by session_id)
           select count(distinct e.session_id)
           from thelook.events as e join first_source as f using (session_id)
           where f.source = 'Adwords' and cast(e.created_at as date) between ? and ?""",
        [START, END],
    ).fetchone()[0]
    assert expected > 0 and frame["sessions"].iloc[0] == expected
    with pytest.raises(SemanticRequestError, match="isn't a known traffic_source"):
        semantic.query(
            MetricRequest(
                metrics=("revenue",), filters=(DimensionFilter("traffic_source", ("Adwords",)),)
            )
        )


def test_buyers_items_and_cancellation_rate_totals_match_raw(semantic, raw) -> None:
    frame = semantic.query(
        MetricRequest(metrics=("buyers", "items_sold", "cancellation_rate"), start=START, end=END)
    ).frame
    buyers, items, cancelled, all_orders = raw.execute(
        f"""select
              (select count(distinct user_id) from ({COMPLETE_ORDERS})),
              (select count(*) from ({COMPLETE_ORDERS}) as o
                 join thelook.order_items as i on i.order_id = o.order_id),
              (select count(*) filter (where status = 'Cancelled') from thelook.orders
                 where cast(created_at as date) between ? and ?),
              (select count(*) from thelook.orders
                 where cast(created_at as date) between ? and ?)""",
        [START, END, START, END, START, END, START, END],
    ).fetchone()
    row = frame.iloc[0]
    assert (row["buyers"], row["items_sold"]) == (buyers, items)
    assert row["cancellation_rate"] == pytest.approx(cancelled / all_orders, rel=REL)


def test_semantic_revenue_is_revenue_daily(semantic, raw) -> None:
    """One revenue in the project: the semantic metric and the /kpi revenue mart agree
    day by day (both sum fct_order_items.revenue)."""
    daily = semantic.query(
        MetricRequest(metrics=("revenue", "orders"), grain="day", start=START, end=END)
    ).frame
    mart = _raw(
        raw,
        "select day, revenue, orders from main.revenue_daily where day between ? and ?",
        START,
        END,
    )
    # The semantic layer has rows only for days with some order (of any status); the mart
    # has every day, zeros included.
    revenue = _by(daily, "period", "revenue")
    orders = _by(daily, "period", "orders")
    assert set(revenue) <= {d.date() for d in mart["day"]}
    for row in mart.itertuples(index=False):
        assert orders.get(row.day.date(), 0) == row.orders, row.day
        assert revenue.get(row.day.date(), 0.0) == pytest.approx(row.revenue, rel=REL), row.day
    assert mart["orders"].sum() > 100  # the window is not empty


def test_top_n_and_monthly_grain(semantic) -> None:
    top = semantic.query(
        MetricRequest(metrics=("revenue",), group_by="brand", start=START, end=END, limit=3)
    ).frame
    everything = semantic.query(
        MetricRequest(metrics=("revenue",), group_by="brand", start=START, end=END)
    ).frame
    assert list(top["brand"]) == list(everything["brand"][:3])
    monthly = semantic.query(
        MetricRequest(metrics=("revenue",), grain="month", start=START, end=END)
    ).frame
    assert all(d.day == 1 for d in monthly["period"])
    total = semantic.query(MetricRequest(metrics=("revenue",), start=START, end=END)).frame
    assert monthly["revenue"].sum() == pytest.approx(total["revenue"].iloc[0], rel=REL)


# --- requests the layer refuses, in plain words ------------------------------------------


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (MetricRequest(metrics=("nope",)), "no metric called 'nope'"),
        (MetricRequest(metrics=("revenue",), group_by="browser"), "can't be broken down"),
        (MetricRequest(metrics=("revenue",), group_by="planet"), "no dimension called"),
        (MetricRequest(metrics=("sessions", "revenue"), group_by="traffic_source"), "sessions"),
        (
            MetricRequest(
                metrics=("revenue",),
                filters=(DimensionFilter("country", ("Narnia'); drop table x; --",)),),
            ),
            "isn't a known country",
        ),
        (MetricRequest(metrics=()), "at least one metric"),
        (MetricRequest(metrics=("revenue",), start=END, end=START), "starts after it ends"),
    ],
)
def test_bad_requests_get_clear_errors(semantic, request_, words: str) -> None:
    with pytest.raises(SemanticRequestError, match=words.replace("(", r"\(")):
        semantic.query(request_)


def test_compiled_sql_is_cached_per_shape_not_per_value(warehouse) -> None:
    layer = SemanticLayer(warehouse, use_catalog=False)  # MetricFlow compiles every shape
    calls = []
    model = layer._loaded()  # counting explains needs the loaded engine
    original = model.engine.explain
    model.engine.explain = lambda request: calls.append(request) or original(request)
    first = layer.compile(
        MetricRequest(
            metrics=("revenue",),
            filters=(DimensionFilter("country", ("China",)),),
            start=START,
            end=END,
        )
    )
    again = layer.compile(
        MetricRequest(
            metrics=("revenue",),
            filters=(DimensionFilter("country", ("Spain",)),),
            start=START - timedelta(days=7),
            end=END - timedelta(days=7),
        )
    )
    assert again is first and len(calls) == 1
    assert set(first.parameters) == {"window_start", "window_end", "f0_0"}


def test_missing_manifest_is_a_clear_error(warehouse, tmp_path: Path) -> None:
    layer = SemanticLayer(warehouse, manifest_path=tmp_path / "none.json")
    with pytest.raises(WarehouseNotBuilt, match="python -m bot build"):
        layer.metrics()


def test_metricflow_is_not_imported_with_the_warehouse_package() -> None:
    code = (
        "import sys, bot.warehouse, bot.warehouse.semantic, bot.warehouse.duckdb_adapter, "
        "bot.core.metrics; print(sorted(m for m in sys.modules if m.startswith('metricflow')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_window_dates_bind_as_dates(semantic) -> None:
    one_day = semantic.query(
        MetricRequest(metrics=("orders",), grain="day", start=END, end=END)
    ).frame
    assert list(one_day["period"]) in ([END], [])
    assert isinstance(START, date)
