"""The bot's reads of the experiment registry and the CUPED sums (MartReader), against the
marts read directly with DuckDB, on the built demo warehouse."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bot.answerers.experiments import plan_for, variants_from_rows
from bot.core.plan import ExperimentPlan, default_plan, plan_from_row
from bot.core.table import Rows
from bot.warehouse.base import CUPED_COLUMNS, MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse


@pytest.fixture(scope="module")
def reader(built_db: Path):
    warehouse = DuckDBWarehouse(built_db)
    yield MartReader(warehouse)
    warehouse.close()


def direct(built_db: Path, sql: str, params: list) -> pd.DataFrame:
    with duckdb.connect(str(built_db), read_only=True) as con:
        return con.execute(sql, params).df()


@pytest.mark.parametrize(
    "experiment", ["checkout_cautious_rollout", "bundle_discount", "homepage_copy_aa"]
)
def test_registry_row_becomes_the_same_plan_as_the_mart_row(reader, built_db, experiment) -> None:
    row = reader.experiment_registry(experiment)
    assert row is not None
    frame = direct(built_db, "select * from main.ab_registry where experiment_id = ?", [experiment])
    raw = {
        k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in frame.iloc[0].items()
    }
    expected = plan_from_row(raw)
    assert isinstance(expected, ExperimentPlan)
    assert plan_for(experiment, row) == expected
    assert isinstance(row["start_date"], date) and isinstance(row["registered"], bool)
    assert not [k for k, v in row.items() if isinstance(v, float) and math.isnan(v)]


def test_unregistered_experiment_gets_the_defaults_with_its_first_exposure_day(reader) -> None:
    plan = plan_for("homepage_copy_aa", reader.experiment_registry("homepage_copy_aa"))
    first = next(e for e in reader.experiments() if e.experiment_id == "homepage_copy_aa")
    assert not plan.registered and plan.split is None and not plan.has_planned_end
    assert (plan.primary_metric, plan.guardrails) == (
        default_plan("x").primary_metric,
        default_plan("x").guardrails,
    )
    assert plan.start_date == first.first_assigned_at.date()


def test_designed_split_is_read_from_the_registry(reader) -> None:
    plan = plan_for(
        "checkout_cautious_rollout", reader.experiment_registry("checkout_cautious_rollout")
    )
    assert plan.registered and plan.split == {"control": 90, "treatment": 10}
    assert plan.planned_users_per_arm == 100_000


@pytest.mark.parametrize("hostile", ["nope", "x' or '1'='1", "'; drop table main.ab_registry; --"])
def test_no_row_for_an_unknown_or_hostile_id(reader, hostile) -> None:
    assert reader.experiment_registry(hostile) is None
    assert reader.experiment_registry("checkout_redesign") is not None  # nothing dropped


def test_cuped_sums_reach_the_variants(reader, built_db) -> None:
    rows = reader.experiment_metrics("checkout_redesign")
    expected = direct(
        built_db,
        "select * from main.ab_metrics where experiment_id = ? order by variant",
        ["checkout_redesign"],
    )
    variants = variants_from_rows(rows)
    assert [v.name for v in variants] == list(expected["variant"])
    for v, (_, r) in zip(variants, expected.iterrows(), strict=True):
        for column in CUPED_COLUMNS:
            assert getattr(v, column) == pytest.approx(float(r[column]), rel=1e-12)
    assert any(v.pre_revenue_sum > 0 for v in variants)


def test_missing_cuped_sums_mean_no_covariate() -> None:
    rows = Rows.from_records(
        (
            "variant",
            "users",
            "converters",
            "revenue_sum",
            "revenue_sum_squares",
            *CUPED_COLUMNS,
        ),
        [
            {
                "variant": "control",
                "users": 10,
                "converters": 1,
                "revenue_sum": 10.0,
                "revenue_sum_squares": 100.0,
                "pre_revenue_sum": float("nan"),
                "pre_revenue_sum_squares": None,
                "revenue_pre_revenue_sum_products": 1.0,
            },
            {
                "variant": "treatment",
                "users": 10,
                "converters": 2,
                "revenue_sum": 20.0,
                "revenue_sum_squares": 400.0,
                "pre_revenue_sum": 3.0,
                "pre_revenue_sum_squares": 9.0,
                "revenue_pre_revenue_sum_products": 2.0,
            },
        ],
    )
    control, treatment = variants_from_rows(rows)
    assert control.pre_revenue_sum is None and control.pre_revenue_sum_squares is None
    assert treatment.pre_revenue_sum == 3.0
