"""Experiment plans from registry rows and their progress (bot/core/plan.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.plan import (
    CONVERSION,
    REVENUE_PER_USER,
    ExperimentPlan,
    default_plan,
    parse_split,
    plan_from_row,
    progress,
)

ROW = {
    "experiment_id": "checkout_90_10",
    "name": "Checkout, cautious rollout",
    "hypothesis": "A one-page checkout converts more",
    "owner": "ana@example.com",
    "primary_metric": "conversion",
    "guardrail_metrics": "revenue_per_user",
    "planned_split": "control=90;treatment=10",
    "start_date": "2026-11-01",
    "planned_end_date": "2026-11-28",
    "planned_users_per_arm": "",
    "status": "running",
}


def test_a_registry_row_becomes_a_plan() -> None:
    plan = plan_from_row(ROW)
    assert isinstance(plan, ExperimentPlan) and plan.registered
    assert plan.split == {"control": 90.0, "treatment": 10.0}
    assert plan.guardrails == (REVENUE_PER_USER,) and plan.primary_metric == CONVERSION
    assert (plan.start_date, plan.planned_end_date) == (date(2026, 11, 1), date(2026, 11, 28))
    assert plan.planned_users_per_arm is None
    assert plan.weight_share("treatment", ("control", "treatment")) == pytest.approx(0.1)


def test_dates_from_the_warehouse_are_accepted() -> None:
    plan = plan_from_row({**ROW, "start_date": date(2026, 11, 1), "planned_users_per_arm": 5000})
    assert plan.start_date == date(2026, 11, 1) and plan.planned_users_per_arm == 5000


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"planned_split": "control=90,treatment=10"}, "bad planned split"),
        ({"planned_split": "control=90;control=10"}, "appears twice"),
        ({"planned_split": "control=0;treatment=10"}, "bad planned split"),
        ({"planned_split": "control=1"}, "at least two variants"),
        ({"primary_metric": "aov"}, "unknown primary metric"),
        ({"guardrail_metrics": "conversion"}, "can't also be a guardrail"),
        ({"guardrail_metrics": "bounce_rate"}, "unknown guardrail"),
        ({"start_date": "01/11/2026"}, "YYYY-MM-DD"),
        ({"planned_end_date": "2026-10-01"}, "before the start date"),
        ({"planned_users_per_arm": "many"}, "whole number"),
        ({"planned_users_per_arm": "0"}, "must be positive"),
        ({"status": "paused"}, "unknown status"),
        ({"experiment_id": ""}, "no experiment_id"),
    ],
)
def test_bad_rows_give_a_message_not_an_exception(change: dict, fragment: str) -> None:
    result = plan_from_row({**ROW, **change})
    assert isinstance(result, str) and fragment in result


def test_empty_split_means_equal() -> None:
    assert parse_split("") is None and parse_split(None) is None
    plan = default_plan("x")
    assert plan.weight_share("a", ("a", "b", "c")) == pytest.approx(1 / 3)


def test_progress_day_12_of_28_and_share_of_planned_users() -> None:
    plan = ExperimentPlan(
        "x",
        start_date=date(2026, 11, 1),
        planned_end_date=date(2026, 11, 28),
        planned_users_per_arm=10_000,
    )
    p = progress(plan, date(2026, 11, 12), 12_200, 2)
    assert (p.day, p.planned_days, p.planned_users) == (12, 28, 20_000)
    assert p.user_share == pytest.approx(0.61)
    assert p.always_valid and not p.finished
    assert progress(plan, date(2026, 11, 28), 12_200, 2).finished
    assert progress(plan, date(2026, 11, 12), 20_000, 2).finished  # planned users reached


def test_progress_without_a_plan_end_is_fixed_horizon() -> None:
    p = progress(default_plan("x"), date(2026, 11, 12), 500, 2)
    assert not p.always_valid and not p.finished and p.day is None and p.user_share is None


def test_end_date_without_as_of_stays_sequential() -> None:
    plan = ExperimentPlan("x", start_date=date(2026, 11, 1), planned_end_date=date(2026, 11, 28))
    assert progress(plan, None, 500, 2).always_valid
