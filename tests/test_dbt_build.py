"""The dbt marts, checked against an independent recomputation from the raw tables.

``built_db`` is a real generated warehouse with the marts built by a real ``dbt build``.
Every expected number here is computed with pandas straight from the raw ``thelook``
tables, following METRICS.md, without reading the dbt models' SQL.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

MARTS = (
    "revenue_daily",
    "funnel_users",
    "funnel_sessions_daily",
    "ab_group",
    "ab_experiments",
    "ab_metrics",
    "ab_registry",
    "ab_funnel",
    "retention_weekly",
    "data_freshness",
)
STAGING = tuple(
    f"stg_thelook__{t}"
    for t in ("users", "orders", "order_items", "events", "experiment_assignments")
)
MART_COLUMNS = {  # docs/ARCHITECTURE.md, "Marts"
    "revenue_daily": ["day", "orders", "revenue", "aov"],
    "funnel_users": [
        "user_id",
        "visited",
        "viewed_product",
        "added_to_cart",
        "purchased",
        "converted",
    ],
    "funnel_sessions_daily": [
        "session_day",
        "traffic_source",
        "browser",
        "sessions",
        "product_sessions",
        "cart_sessions",
        "purchase_sessions",
    ],
    "ab_group": ["experiment_id", "user_id", "variant", "assigned_at"],
    "ab_experiments": [
        "experiment_id",
        "variants",
        "users",
        "excluded_users",
        "first_assigned_at",
        "last_assigned_at",
    ],
    "ab_metrics": [
        "experiment_id",
        "variant",
        "users",
        "converters",
        "conversion_rate",
        "revenue_sum",
        "revenue_sum_squares",
        "pre_revenue_sum",
        "pre_revenue_sum_squares",
        "revenue_pre_revenue_sum_products",
    ],
    "ab_registry": [
        "experiment_id",
        "registered",
        "name",
        "hypothesis",
        "owner",
        "primary_metric",
        "guardrail_metrics",
        "planned_split",
        "start_date",
        "planned_end_date",
        "planned_users_per_arm",
        "status",
    ],
    "ab_funnel": [
        "experiment_id",
        "variant",
        "users",
        "product_users",
        "cart_users",
        "purchase_users",
    ],
    "retention_weekly": ["cohort_week", "week_n", "cohort_size", "active_users", "retention_rate"],
    "data_freshness": ["data_as_of"],
}
REL = 1e-9  # float sums in another order differ only in the last bits


@pytest.fixture(scope="module")
def conn(built_db: Path):
    connection = duckdb.connect(str(built_db), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def raw(conn) -> dict[str, pd.DataFrame]:
    return {
        name: conn.execute(f"select * from thelook.{name}").df()
        for name in ("users", "orders", "order_items", "events", "experiment_assignments")
    }


def mart(conn, name: str) -> pd.DataFrame:
    return conn.execute(f"select * from main.{name}").df()


def _day(series: pd.Series) -> pd.Series:
    return series.dt.date


def _monday(series: pd.Series) -> pd.Series:
    days = series.dt.normalize()
    return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date


# --- shape -----------------------------------------------------------------------------------


def test_marts_are_tables_with_the_documented_columns(conn) -> None:
    kinds = dict(
        conn.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_schema = 'main'"
        ).fetchall()
    )
    for name in MARTS:
        assert kinds.get(name) == "BASE TABLE", name
        assert list(mart(conn, name).columns) == MART_COLUMNS[name], name
    for name in STAGING:
        assert kinds.get(name) == "VIEW", name
        # The views resolve after the build's copy-and-swap (same catalog name).
        assert conn.execute(f"select count(*) from main.{name}").fetchone()[0] > 0


def test_data_freshness_is_the_greatest_source_created_at(conn, raw) -> None:
    expected = max(raw[t]["created_at"].max() for t in ("users", "orders", "order_items", "events"))
    freshness = mart(conn, "data_freshness")
    assert len(freshness) == 1
    assert freshness["data_as_of"].iloc[0] == expected


# --- revenue ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def complete_orders(raw) -> pd.DataFrame:
    """One row per Complete order: its UTC day and the sum of its items' sale_price."""
    orders = raw["orders"]
    complete = orders.loc[orders["status"] == "Complete", ["order_id", "created_at"]].copy()
    item_revenue = raw["order_items"].groupby("order_id")["sale_price"].sum()
    complete["revenue"] = complete["order_id"].map(item_revenue).fillna(0.0)
    complete["day"] = _day(complete["created_at"])
    return complete


def test_revenue_daily_matches_raw_orders_every_day(conn, raw, complete_orders) -> None:
    daily = mart(conn, "revenue_daily").sort_values("day").set_index("day")
    first = min(raw[t]["created_at"].min() for t in ("users", "orders", "order_items", "events"))
    last = max(raw[t]["created_at"].max() for t in ("users", "orders", "order_items", "events"))
    span = [d.date() for d in pd.date_range(first.normalize(), last.normalize(), freq="D")]
    assert [d.date() if hasattr(d, "date") else d for d in daily.index] == span

    expected = complete_orders.groupby("day").agg(
        orders=("order_id", "nunique"), revenue=("revenue", "sum")
    )
    expected = expected.reindex(span, fill_value=0)
    got = daily.set_axis(span)
    assert got["orders"].tolist() == expected["orders"].astype(int).tolist()
    np.testing.assert_allclose(got["revenue"], expected["revenue"], rtol=REL, atol=1e-9)


def test_revenue_daily_has_zero_days(conn, complete_orders) -> None:
    daily = mart(conn, "revenue_daily")
    zero = daily[daily["orders"] == 0]
    assert len(zero) > 0, "the demo data should have days without Complete orders"
    assert (zero["revenue"] == 0).all()
    assert zero["aov"].isna().all()
    # ... and they are exactly the days with no Complete order in the raw data.
    days_with_orders = set(complete_orders["day"])
    assert not {pd.Timestamp(d).date() for d in zero["day"]} & days_with_orders


@pytest.mark.parametrize("seed", range(6))
def test_revenue_for_random_windows_matches_raw(conn, complete_orders, seed: int) -> None:
    daily = mart(conn, "revenue_daily")
    first, last = pd.Timestamp(daily["day"].min()).date(), pd.Timestamp(daily["day"].max()).date()
    rng = random.Random(seed)
    length = rng.choice([1, 7, 30, 90, 365])
    start = first + timedelta(days=rng.randrange((last - first).days - length + 2))
    end = start + timedelta(days=length - 1)

    in_window = complete_orders[(complete_orders["day"] >= start) & (complete_orders["day"] <= end)]
    exp_orders = in_window["order_id"].nunique()
    exp_revenue = in_window["revenue"].sum()

    rows = conn.execute(
        "select sum(orders), sum(revenue) from main.revenue_daily where day between ? and ?",
        [start, end],
    ).fetchone()
    assert rows[0] == exp_orders
    assert rows[1] == pytest.approx(exp_revenue, rel=REL, abs=1e-9)
    if exp_orders:  # AOV over a window = revenue / orders of the window, not a mean of days
        assert rows[1] / rows[0] == pytest.approx(exp_revenue / exp_orders, rel=REL)


def test_revenue_counts_only_complete_orders_and_distinct_orders(conn, raw) -> None:
    # A guard that the comparisons above can fail: counting every status, or items
    # instead of orders, would give other totals on this data.
    total = conn.execute("select sum(orders), sum(revenue) from main.revenue_daily").fetchone()
    orders, items = raw["orders"], raw["order_items"]
    assert total[0] < len(orders)
    assert total[0] < len(items[items["order_id"].isin(orders["order_id"])])
    assert total[1] < items["sale_price"].sum()


# --- funnel ----------------------------------------------------------------------------------


def test_funnel_users_matches_raw_events_and_orders(conn, raw) -> None:
    funnel = mart(conn, "funnel_users").set_index("user_id").sort_index()
    events = raw["events"].dropna(subset=["user_id"])
    users = raw["users"]["id"].sort_values()
    assert funnel.index.tolist() == users.tolist()

    def has(event_type: str | None) -> pd.Series:
        chosen = events if event_type is None else events[events["event_type"] == event_type]
        return users.isin(chosen["user_id"]).set_axis(users.values)

    orders = raw["orders"]
    converted = users.isin(orders.loc[orders["status"] == "Complete", "user_id"])
    assert funnel["visited"].tolist() == has(None).tolist()
    assert funnel["viewed_product"].tolist() == has("product").tolist()
    assert funnel["added_to_cart"].tolist() == has("cart").tolist()
    assert funnel["purchased"].tolist() == has("purchase").tolist()
    assert funnel["converted"].tolist() == converted.tolist()


# --- experiments -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exposures(raw) -> tuple[pd.DataFrame, pd.Series]:
    """First exposure per (experiment, user), multi-variant users out; and the
    number of excluded users per experiment."""
    rows = raw["experiment_assignments"]
    variants = rows.groupby(["experiment_id", "user_id"])["variant"].nunique()
    excluded = (variants > 1).groupby(level="experiment_id").sum()
    single = variants[variants == 1].index
    first = (
        rows.sort_values(["assigned_at", "variant"])
        .groupby(["experiment_id", "user_id"], as_index=False)
        .first()
    )
    first = first.set_index(["experiment_id", "user_id"]).loc[single].reset_index()
    return first, excluded


def _per_variant(first: pd.DataFrame, raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    orders = raw["orders"]
    complete = orders.loc[orders["status"] == "Complete", ["order_id", "user_id", "created_at"]]
    item_revenue = raw["order_items"].groupby("order_id")["sale_price"].sum()
    joined = first.merge(complete, on="user_id", how="left", suffixes=("", "_order"))
    after = joined[joined["created_at"] >= joined["assigned_at"]].copy()
    after["revenue"] = after["order_id"].map(item_revenue).fillna(0.0)
    per_user_revenue = after.groupby(["experiment_id", "user_id"])["revenue"].sum()
    per_user = first.set_index(["experiment_id", "user_id"])
    per_user["converted"] = per_user.index.isin(per_user_revenue.index)
    per_user["revenue"] = per_user_revenue.reindex(per_user.index).fillna(0.0)
    per_user["revenue_sq"] = per_user["revenue"] ** 2
    return per_user.groupby(["experiment_id", "variant"]).agg(
        users=("converted", "size"),
        converters=("converted", "sum"),
        revenue_sum=("revenue", "sum"),
        revenue_sum_squares=("revenue_sq", "sum"),
    )


def test_experiments_exist_with_the_demo_shapes(conn) -> None:
    metrics = mart(conn, "ab_metrics")
    variants = metrics.groupby("experiment_id")["variant"].nunique()
    assert len(variants) >= 3
    assert variants.max() >= 3  # an A/B/n experiment


def test_ab_metrics_match_raw_assignments_and_orders(conn, raw, exposures) -> None:
    first, _ = exposures
    expected = _per_variant(first, raw)
    got = mart(conn, "ab_metrics").set_index(["experiment_id", "variant"]).sort_index()
    assert got.index.tolist() == expected.sort_index().index.tolist()
    expected = expected.loc[got.index]
    assert got["users"].tolist() == expected["users"].tolist()
    assert got["converters"].tolist() == expected["converters"].astype(int).tolist()
    np.testing.assert_allclose(got["conversion_rate"], expected["converters"] / expected["users"])
    np.testing.assert_allclose(got["revenue_sum"], expected["revenue_sum"], rtol=REL)
    np.testing.assert_allclose(
        got["revenue_sum_squares"], expected["revenue_sum_squares"], rtol=REL
    )


def test_conversion_counts_only_orders_after_exposure(conn, raw, exposures) -> None:
    # Counting orders from before assigned_at would give more converters somewhere:
    # shows the comparison above is sensitive to the rule.
    first, _ = exposures
    orders = raw["orders"]
    buyers = set(orders.loc[orders["status"] == "Complete", "user_id"])
    ever = first.assign(bought=first["user_id"].isin(buyers))
    ever = ever.groupby(["experiment_id", "variant"])["bought"].sum()
    got = mart(conn, "ab_metrics").set_index(["experiment_id", "variant"])["converters"]
    assert (got <= ever.loc[got.index]).all()
    assert (got < ever.loc[got.index]).any()


def test_ab_group_is_first_exposure_without_multi_variant_users(conn, exposures) -> None:
    first, excluded = exposures
    group = mart(conn, "ab_group").sort_values(["experiment_id", "user_id"])
    expected = first.sort_values(["experiment_id", "user_id"])
    assert group[["experiment_id", "user_id", "variant"]].values.tolist() == (
        expected[["experiment_id", "user_id", "variant"]].values.tolist()
    )
    assert (group["assigned_at"].values == expected["assigned_at"].values).all()

    experiments = mart(conn, "ab_experiments").set_index("experiment_id")
    assert experiments["excluded_users"].sum() > 0, "the demo data plants exclusions"
    for experiment_id, row in experiments.iterrows():
        assert row["excluded_users"] == excluded.get(experiment_id, 0)
        assert row["users"] == (first["experiment_id"] == experiment_id).sum()


# --- retention -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected_retention(raw) -> pd.DataFrame:
    users = raw["users"][["id", "created_at"]].rename(columns={"id": "user_id"})
    users["cohort_week"] = _monday(users["created_at"])
    cohort_size = users.groupby("cohort_week").size()

    events = raw["events"].dropna(subset=["user_id"])[["user_id", "created_at"]].copy()
    events["user_id"] = events["user_id"].astype("int64")
    events["activity_week"] = _monday(events["created_at"])
    active = events[["user_id", "activity_week"]].drop_duplicates().merge(users, on="user_id")
    active["week_n"] = (
        pd.to_datetime(active["activity_week"]) - pd.to_datetime(active["cohort_week"])
    ).dt.days // 7
    active = active[(active["week_n"] >= 0) & (active["week_n"] <= 12)]
    active_users = active.groupby(["cohort_week", "week_n"])["user_id"].nunique()

    last_day = max(raw[t]["created_at"].max() for t in ("users", "orders", "order_items", "events"))
    last_day = last_day.date()
    cells = [
        (week, n)
        for week in cohort_size.index
        for n in range(13)
        if week + timedelta(days=7 * n + 6) <= last_day  # the activity week is complete
    ]
    frame = pd.DataFrame(cells, columns=["cohort_week", "week_n"])
    frame["cohort_size"] = frame["cohort_week"].map(cohort_size)
    frame["active_users"] = [active_users.get(cell, 0) for cell in cells]
    frame["retention_rate"] = frame["active_users"] / frame["cohort_size"]
    return frame.set_index(["cohort_week", "week_n"]).sort_index()


def test_retention_cells_are_exactly_the_complete_ones(conn, expected_retention) -> None:
    got = mart(conn, "retention_weekly")
    got_cells = {
        (pd.Timestamp(w).date(), int(n))
        for w, n in zip(got["cohort_week"], got["week_n"], strict=True)
    }
    assert got_cells == set(expected_retention.index)
    assert all(pd.Timestamp(w).weekday() == 0 for w in got["cohort_week"])  # Mondays
    # The newest cohort's week 0 lies in the future of the data: absent, not 0.
    newest = pd.Timestamp(got["cohort_week"].max()).date()
    assert {n for w, n in got_cells if w == newest} != set(range(13))


def test_retention_all_cells_match_raw(conn, expected_retention) -> None:
    got = mart(conn, "retention_weekly")
    got["cohort_week"] = [pd.Timestamp(w).date() for w in got["cohort_week"]]
    got = got.set_index(["cohort_week", "week_n"]).sort_index()
    assert got["cohort_size"].tolist() == expected_retention["cohort_size"].tolist()
    assert got["active_users"].tolist() == expected_retention["active_users"].tolist()
    np.testing.assert_allclose(got["retention_rate"], expected_retention["retention_rate"])
    # Retention decays: week 1 is well below week 0 on average.
    by_week = got.groupby(level="week_n")["retention_rate"].mean()
    assert by_week.loc[1] < by_week.loc[0]


def test_dates_are_dates(conn) -> None:
    kinds = dict(
        conn.execute(
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'main' and column_name in ('day', 'cohort_week', 'session_day')"
        ).fetchall()
    )
    assert kinds["revenue_daily.day"] == "DATE"
    assert kinds["retention_weekly.cohort_week"] == "DATE"
    assert kinds["funnel_sessions_daily.session_day"] == "DATE"


# --- the documented fallback split -----------------------------------------------------------


def test_hash_split_fallback_on_duckdb(built_db: Path, tmp_path: Path, raw) -> None:
    """With use_experiment_assignments false (BigQuery's default), every user is in a
    deterministic 50/50 A/A split at sign-up; the same models still build and pass."""
    project = Path(__file__).resolve().parent.parent / "dbt_project"
    copy = tmp_path / built_db.name
    shutil.copy(built_db, copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "DBT_"))}
    env.update(KPI_DUCKDB_PATH=str(copy), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    args = ["--project-dir", str(project), "--profiles-dir", str(project)]
    args += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    args += ["--select", "stg_thelook__experiment_assignments+"]
    args += ["--vars", "{use_experiment_assignments: false}"]
    proc = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "build", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]

    with duckdb.connect(str(copy), read_only=True) as conn:
        experiments = mart(conn, "ab_experiments")
        metrics = mart(conn, "ab_metrics").set_index("variant").sort_index()
    users = raw["users"]
    assert experiments["experiment_id"].tolist() == ["hash_split_aa"]
    assert experiments.loc[0, ["variants", "users", "excluded_users"]].tolist() == [
        2,
        len(users),
        0,
    ]
    assert metrics.index.tolist() == ["A", "B"]
    # A fair coin: 4.5 standard deviations either side of n/2.
    assert abs(metrics.loc["A", "users"] - len(users) / 2) < 4.5 * (len(users) / 4) ** 0.5
    # Assigned at sign-up, so a converter is any user with a Complete order after it.
    orders = raw["orders"].merge(
        users[["id", "created_at"]], left_on="user_id", right_on="id", suffixes=("", "_user")
    )
    buyers = orders[
        (orders["status"] == "Complete") & (orders["created_at"] >= orders["created_at_user"])
    ]
    assert metrics["converters"].sum() == buyers["user_id"].nunique()


def test_every_model_and_column_is_described(conn) -> None:
    import yaml

    models_dir = Path(__file__).resolve().parent.parent / "dbt_project" / "models"
    documented: dict[str, dict] = {}
    for path in models_dir.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            documented[model["name"]] = model
    built = {path.stem for path in models_dir.rglob("*.sql")}
    assert built <= set(documented), built - set(documented)
    for name in built:
        model = documented[name]
        assert model.get("description", "").strip(), name
        described = {c["name"]: c.get("description", "").strip() for c in model["columns"]}
        actual = [
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'main' and table_name = ? order by ordinal_position",
                [name],
            ).fetchall()
        ]
        assert actual, name
        assert set(actual) == set(described), name
        assert all(described.values()), name
