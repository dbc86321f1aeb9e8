"""The experiment registry (seed experiment_registry → mart ab_registry) and the CUPED
sufficient statistics of ab_metrics, checked against the seed file and the raw tables."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from bot.core.plan import ExperimentPlan, plan_from_row

SEED = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "experiment_registry.csv"
REL = 1e-9


@pytest.fixture(scope="module")
def conn(built_db: Path):
    connection = duckdb.connect(str(built_db), read_only=True)
    yield connection
    connection.close()


def _none(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def test_registry_has_every_seeded_and_every_exposed_experiment(conn) -> None:
    registry = conn.execute("select * from main.ab_registry").df().set_index("experiment_id")
    seeded = {row["experiment_id"] for row in csv.DictReader(SEED.open())}
    exposed = {
        r[0] for r in conn.execute("select experiment_id from main.ab_experiments").fetchall()
    }
    assert set(registry.index) == seeded | exposed
    assert registry["registered"].to_dict() == {e: e in seeded for e in registry.index}


def test_unregistered_experiments_get_the_defaults(conn) -> None:
    rows = conn.execute(
        "select r.*, cast(e.first_assigned_at as date) as first_day from main.ab_registry r "
        "join main.ab_experiments e using (experiment_id) where not r.registered"
    ).df()
    assert len(rows) >= 1  # homepage_copy_aa has no registry entry
    for row in rows.to_dict("records"):
        assert row["primary_metric"] == "conversion"
        assert row["guardrail_metrics"] == "revenue_per_user"
        assert _none(row["planned_split"]) is None and _none(row["planned_end_date"]) is None
        assert _none(row["planned_users_per_arm"]) is None
        assert row["start_date"].date() == row["first_day"].date()


def test_every_registry_row_becomes_a_plan(conn) -> None:
    for row in conn.execute("select * from main.ab_registry").df().to_dict("records"):
        plan = plan_from_row({k: _none(v) for k, v in row.items()})
        assert isinstance(plan, ExperimentPlan), plan
        assert plan.registered == bool(row["registered"])
    designed = conn.execute(
        "select * from main.ab_registry where experiment_id = 'checkout_cautious_rollout'"
    ).df()
    plan = plan_from_row({k: _none(v) for k, v in designed.to_dict("records")[0].items()})
    assert plan.split == {"control": 90, "treatment": 10} and plan.has_planned_end


def test_cuped_sums_match_the_raw_tables(conn) -> None:
    """Pre-exposure revenue: Complete orders created in [assigned_at − 28 d, assigned_at)."""
    group = conn.execute("select * from main.ab_group").df()
    orders = conn.execute(
        "select o.order_id, o.user_id, o.created_at, sum(i.sale_price) as revenue "
        "from thelook.orders o join thelook.order_items i on i.order_id = o.order_id "
        "where o.status = 'Complete' group by all"
    ).df()
    joined = group.merge(orders, on="user_id", how="left")
    pre = joined[
        (joined["created_at"] < joined["assigned_at"])
        & (joined["created_at"] >= joined["assigned_at"] - pd.Timedelta(days=28))
    ]
    post = joined[joined["created_at"] >= joined["assigned_at"]]
    keys = ["experiment_id", "variant", "user_id"]
    users = group.set_index(keys)
    users["pre"] = pre.groupby(keys)["revenue"].sum()
    users["post"] = post.groupby(keys)["revenue"].sum()
    users = users.fillna({"pre": 0.0, "post": 0.0}).reset_index()
    users["pre2"], users["cross"] = users["pre"] ** 2, users["pre"] * users["post"]
    expected = users.groupby(["experiment_id", "variant"])[["pre", "pre2", "cross", "post"]].sum()
    got = conn.execute("select * from main.ab_metrics").df().set_index(["experiment_id", "variant"])
    expected = expected.loc[got.index]
    np.testing.assert_allclose(got["pre_revenue_sum"], expected["pre"], rtol=REL)
    np.testing.assert_allclose(got["pre_revenue_sum_squares"], expected["pre2"], rtol=REL)
    np.testing.assert_allclose(got["revenue_pre_revenue_sum_products"], expected["cross"], rtol=REL)
    np.testing.assert_allclose(got["revenue_sum"], expected["post"], rtol=REL)
    assert (got["pre_revenue_sum"] > 0).all()  # the covariate exists in the demo
