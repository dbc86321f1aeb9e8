"""The one service layer, against a real built demo warehouse.

Figures are checked against the marts read directly with DuckDB (not through the bot's
queries), and statistics against the stats module fed from those rows.
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bot.answers import (
    ErrorAnswer,
    ExperimentAnswer,
    ExperimentListAnswer,
    HelpAnswer,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core.plan import ExperimentPlan, plan_from_row
from bot.core.stats import VariantData, analyze_experiment
from bot.core.table import Rows
from bot.render.verdicts import verdict_text
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END

AS_OF = DEMO_END + timedelta(days=1)
PNG = b"\x89PNG\r\n\x1a\n"


def service_for(path: Path, timeout_s: float = 10.0) -> KpiService:
    reader = MartReader(DuckDBWarehouse(path, timeout_s=timeout_s))
    return KpiService(reader, clock=lambda: datetime(2026, 11, 25, 8, 0))


@pytest.fixture(scope="module")
def service(built_db: Path) -> KpiService:
    return service_for(built_db)


def mart(built_db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(built_db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def window_totals(built_db: Path, start: date, end: date) -> tuple[float, int]:
    row = mart(
        built_db,
        "select coalesce(sum(revenue), 0) as revenue, coalesce(sum(orders), 0) as orders "
        "from main.revenue_daily where day between ? and ?",
        [start, end],
    ).iloc[0]
    return float(row.revenue), int(row.orders)


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("revenue last 30 days", date(2026, 10, 26), date(2026, 11, 24)),
        ("revenue last 7d", date(2026, 11, 18), date(2026, 11, 24)),
        ("revenue last month", date(2026, 10, 1), date(2026, 10, 31)),
        ("revenue 2026-09-14..2026-10-14", date(2026, 9, 14), date(2026, 10, 14)),
    ],
)
def test_revenue_matches_the_mart(service, built_db, question, start, end):
    answer = service.ask(question, as_of=AS_OF)
    assert isinstance(answer, RevenueAnswer), answer
    current = answer.report.current
    assert (current.window.start, current.window.end) == (start, end)
    revenue, orders = window_totals(built_db, start, end)
    assert current.revenue == pytest.approx(revenue, rel=1e-12)
    assert current.orders == orders
    assert current.aov == pytest.approx(revenue / orders, rel=1e-12)

    prev = answer.report.previous.baseline.window
    n = (end - start).days + 1
    if question != "revenue last month":  # calendar months compare with the month before
        assert (prev.start, prev.end) == (start - timedelta(days=n), start - timedelta(days=1))
    prev_revenue, prev_orders = window_totals(built_db, prev.start, prev.end)
    change = answer.report.previous.revenue
    assert change.delta == pytest.approx(revenue - prev_revenue, rel=1e-9, abs=1e-6)
    assert change.delta_pct == pytest.approx((revenue - prev_revenue) / prev_revenue * 100)
    assert answer.report.previous.orders.delta == orders - prev_orders

    daily = mart(
        built_db,
        "select day, revenue from main.revenue_daily where day between ? and ?",
        [start, end],
    )
    best = daily.loc[daily.revenue.idxmax()]
    assert current.best_day.revenue == pytest.approx(best.revenue)
    assert answer.freshness.data_as_of.date() == DEMO_END
    assert answer.charts and answer.charts[0].png.startswith(PNG)


def test_revenue_vs_last_year(service, built_db):
    answer = service.ask("revenue last 4 weeks vs last year", as_of=AS_OF)
    assert isinstance(answer, RevenueAnswer)
    ly = answer.report.last_year
    assert ly is not None
    current = answer.report.current.window
    # whole weeks compare with the same weekdays 52 weeks earlier
    assert (current.start, current.end) == (date(2026, 10, 26), date(2026, 11, 22))
    assert ly.baseline.window.start == current.start - timedelta(days=364)
    assert ly.baseline.window.end == current.end - timedelta(days=364)
    revenue, _ = window_totals(built_db, ly.baseline.window.start, ly.baseline.window.end)
    assert ly.baseline.revenue == pytest.approx(revenue)


def test_window_before_the_data_is_answered_honestly(service):
    answer = service.ask("revenue 2019-01-01..2019-01-31", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer)
    assert answer.kind == "empty"
    assert "data covers" in answer.message and "2019-01-01" in answer.message


def test_experiment_list_names_every_demo_experiment(service):
    answer = service.ask("ab", as_of=AS_OF)
    assert isinstance(answer, ExperimentListAnswer)
    names = {e.experiment_id for e in answer.experiments}
    assert {"checkout_redesign", "homepage_copy_aa", "pricing_page_abn", "recs_widget_srm"} <= names


EXPERIMENTS = (
    "checkout_redesign",
    "homepage_copy_aa",
    "pricing_page_abn",
    "recs_widget_srm",
    "checkout_cautious_rollout",
    "bundle_discount",
)


def registry_plan(built_db: Path, experiment: str):
    """The experiment's plan from the ab_registry mart, read directly (not the bot's query)."""
    rows = mart(built_db, "select * from main.ab_registry where experiment_id = ?", [experiment])
    row = {
        k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rows.iloc[0].items()
    }
    plan = plan_from_row(row)
    assert isinstance(plan, ExperimentPlan), plan
    return plan


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_matches_mart_and_stats(service, built_db, experiment):
    answer = service.ask(f"ab {experiment}", as_of=AS_OF)
    assert isinstance(answer, ExperimentAnswer), answer
    rows = mart(
        built_db,
        "select * from main.ab_metrics where experiment_id = ? order by variant",
        [experiment],
    )
    by_name = {v.name: v for v in answer.result.variants}
    assert set(by_name) == set(rows.variant)
    for r in rows.itertuples():
        v = by_name[r.variant]
        assert (v.users, v.converters) == (r.users, r.converters)
        assert v.revenue_sum == pytest.approx(r.revenue_sum)
        assert v.pre_revenue_sum == pytest.approx(r.pre_revenue_sum)
        assert v.revenue_pre_revenue_sum_products == pytest.approx(
            r.revenue_pre_revenue_sum_products
        )
    plan = registry_plan(built_db, experiment)
    assert answer.result.decision.plan == plan
    assert plan.registered == (experiment != "homepage_copy_aa")
    expected = analyze_experiment(
        experiment,
        [
            VariantData(
                r.variant,
                int(r.users),
                int(r.converters),
                float(r.revenue_sum),
                float(r.revenue_sum_squares),
                float(r.pre_revenue_sum),
                float(r.pre_revenue_sum_squares),
                float(r.revenue_pre_revenue_sum_products),
            )
            for r in rows.itertuples()
        ],
        excluded_users=answer.info.excluded_users,
        plan=plan,
        as_of=DEMO_END,  # the data's last day
    )
    assert answer.result.verdict == expected.verdict
    assert answer.result.decision == expected.decision
    assert verdict_text(answer.result) == verdict_text(expected)
    assert [c.p_value for c in answer.result.comparisons] == pytest.approx(
        [c.p_value for c in expected.comparisons]
    )
    assert len(answer.result.comparisons) == len(rows) - 1
    assert answer.charts[0].png.startswith(PNG)


def test_alpha_flag_changes_interval_level(service):
    answer = service.ask("ab checkout_redesign --alpha 0.1", as_of=AS_OF)
    assert isinstance(answer, ExperimentAnswer)
    assert answer.result.settings.alpha == 0.1
    ci = answer.result.comparisons[0].abs_ci
    assert ci is not None and ci.level == pytest.approx(0.9)


def test_unknown_experiment_lists_the_known_ones(service):
    answer = service.ask("ab no_such-experiment.v2", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "unknown_experiment"
    assert "`no_such-experiment.v2`" in answer.message
    assert "checkout_redesign" in answer.message


def test_hostile_experiment_id_is_refused_before_any_query(service, built_db):
    answer = service.ask("ab nope'; drop table main.ab_metrics; --", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "parse"
    assert "/kpi ab" in answer.message
    assert isinstance(service.ask("ab checkout_redesign", as_of=AS_OF), ExperimentAnswer)


def test_retention_matches_the_mart(service, built_db):
    answer = service.ask("retention", as_of=AS_OF)
    assert isinstance(answer, RetentionAnswer), answer
    cells = mart(built_db, "select * from main.retention_weekly")
    matrix = answer.report.matrix
    assert matrix.shape[0] > 0
    for cohort in list(matrix.index)[-3:]:
        for week_n in (0, 1, 2):
            row = cells[
                (cells.cohort_week.dt.date == pd.Timestamp(cohort).date())
                & (cells.week_n == week_n)
            ]
            value = matrix.row(cohort)[week_n]
            if row.empty:
                assert pd.isna(value)  # future cells are absent, not zero
            else:
                assert value == pytest.approx(row.active_users.iloc[0] / row.cohort_size.iloc[0])
    assert answer.charts[0].png.startswith(PNG)


def test_help_is_an_answer(service):
    assert isinstance(service.ask("help"), HelpAnswer)


def test_unparseable_question_names_the_problem(service):
    answer = service.ask("revenue since the dawn of time", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "parse"
    assert answer.example


def test_missing_warehouse_file_is_a_friendly_error_and_recovers(built_db, tmp_path):
    path = tmp_path / "kpi.duckdb"
    service = service_for(path)
    answer = service.ask("revenue last 7 days", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "warehouse"
    assert "Traceback" not in answer.message
    shutil.copy(built_db, path)  # the fault clears: the same service answers normally
    assert isinstance(service.ask("revenue last 7 days", as_of=AS_OF), RevenueAnswer)


def test_unbuilt_warehouse_says_to_build(tmp_path):
    path = tmp_path / "kpi.duckdb"
    duckdb.connect(str(path)).close()
    answer = service_for(path).ask("retention", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "warehouse"
    assert "build" in answer.message


class _ConcurrencyGauge:
    """A Warehouse that records how many queries run at once (each held open briefly
    so that overlapping answers do overlap)."""

    def __init__(self, inner: DuckDBWarehouse, hold_s: float = 0.15) -> None:
        self.inner, self.hold_s = inner, hold_s
        self._lock = threading.Lock()
        self.running = self.peak = 0

    def run(self, name: str, params: dict | None = None) -> Rows:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.hold_s)
            return self.inner.run(name, params)
        finally:
            with self._lock:
                self.running -= 1

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("slots", [1, 2, 6])
def test_answer_slots_bound_how_many_answers_run_at_once(built_db: Path, slots: int) -> None:
    gauge = _ConcurrencyGauge(DuckDBWarehouse(built_db))
    kpi = KpiService(
        MartReader(gauge), clock=lambda: datetime(2026, 11, 25, 8, 0), answer_slots=slots
    )
    start = threading.Barrier(6)

    def ask() -> object:
        start.wait()
        return kpi.ask("revenue last 7 days", as_of=AS_OF)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: ask(), range(6)))
    gauge.close()

    assert all(isinstance(a, RevenueAnswer) for a in answers)
    # With fewer slots than askers the bound is reached and never passed; with as many
    # slots as askers they do overlap (so the gauge can see a breach).
    assert gauge.peak == slots if slots < 6 else gauge.peak > 2
