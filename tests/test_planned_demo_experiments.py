"""The demo's planned experiments (bot/demo_data.py PLANNED_EXPERIMENTS): a designed 90/10
split still running on the last day, and conversion up with revenue per user down; added
from their own Generator without changing anything the rest of the generator writes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from bot import demo_data
from bot.core.decision import DecisionKind
from bot.core.plan import ExperimentPlan, default_plan
from bot.core.stats import VariantData, analyze_experiment
from bot.render.verdicts import verdict_text

END = date(2026, 11, 24)
TABLES = ("users", "orders", "order_items", "events")


def _rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def test_other_tables_and_experiments_are_unchanged(tmp_path: Path, monkeypatch) -> None:
    with_planned = tmp_path / "with.duckdb"
    counts = demo_data.generate(with_planned, users=1500, seed=3, end=END)
    monkeypatch.setattr(demo_data, "PLANNED_EXPERIMENTS", ())
    without = tmp_path / "without.duckdb"
    demo_data.generate(without, users=1500, seed=3, end=END)
    a, b = duckdb.connect(str(with_planned)), duckdb.connect(str(without))
    try:
        for table in TABLES:
            sql = f"select * from thelook.{table} order by all"
            assert _rows(a, sql) == _rows(b, sql), table
        old = [e.experiment_id for e in demo_data.EXPERIMENTS]
        sql = (
            "select * from thelook.experiment_assignments "
            "where list_contains(?, experiment_id) order by all"
        )
        assert _rows(a, sql, [old]) == _rows(b, sql, [old])
        total = _rows(a, "select count(*) from thelook.experiment_assignments")[0][0]
        assert total == counts["experiment_assignments"]
        planned = {e.experiment_id for e in demo_data.PLANNED_EXPERIMENTS}
        ids = {
            r[0]
            for r in _rows(a, "select distinct experiment_id from thelook.experiment_assignments")
        }
        assert planned <= ids
    finally:
        a.close()
        b.close()


def _arms(con, experiment_id: str) -> list[VariantData]:
    """METRICS.md's per-variant statistics straight from the raw tables (first exposure,
    Complete orders at or after it)."""
    rows = _rows(
        con,
        """with e as (
               select user_id, variant, min(assigned_at) as at
               from thelook.experiment_assignments where experiment_id = ?
               group by user_id, variant
           ),
           r as (
               select o.user_id, o.created_at, sum(i.sale_price) as revenue
               from thelook.orders o join thelook.order_items i on i.order_id = o.order_id
               where o.status = 'Complete' group by o.order_id, o.user_id, o.created_at
           ),
           u as (
               select e.user_id, e.variant, count(r.revenue) as orders,
                      coalesce(sum(r.revenue), 0) as revenue
               from e left join r on r.user_id = e.user_id and r.created_at >= e.at
               group by e.user_id, e.variant
           )
           select variant, count(*), count_if(orders > 0), sum(revenue), sum(revenue * revenue)
           from u group by variant order by variant""",
        [experiment_id],
    )
    return [VariantData(v, int(n), int(x), float(s), float(ss)) for v, n, x, s, ss in rows]


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory):
    """30k users: enough for the planted effects to stand above the noise."""
    path = tmp_path_factory.mktemp("planned") / "medium.duckdb"
    demo_data.generate(path, users=30_000, seed=42, end=END)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


@pytest.mark.slow
def test_designed_90_10_split_passes_its_plan_and_is_still_running(medium) -> None:
    arms = _arms(medium, "checkout_cautious_rollout")
    last = _rows(
        medium,
        "select max(assigned_at)::date from thelook.experiment_assignments "
        "where experiment_id = 'checkout_cautious_rollout'",
    )[0][0]
    assert last == END  # exposures on the data's last day: still running
    plan = ExperimentPlan(
        "checkout_cautious_rollout",
        split={"control": 90, "treatment": 10},
        planned_users_per_arm=100_000,
    )
    result = analyze_experiment("checkout_cautious_rollout", arms, plan=plan, as_of=END)
    assert not result.srm.flagged
    assert result.decision.progress.always_valid
    assert analyze_experiment("x", arms, plan=default_plan("x")).srm.flagged


@pytest.mark.slow
def test_bundle_discount_raises_conversion_and_lowers_revenue_per_user(medium) -> None:
    arms = _arms(medium, "bundle_discount")
    result = analyze_experiment("bundle_discount", arms, plan=default_plan("bundle_discount"))
    assert not result.srm.flagged
    assert result.decision.kind == DecisionKind.HOLD_GUARDRAIL
    assert "conversion up but revenue per user down" in verdict_text(result)
