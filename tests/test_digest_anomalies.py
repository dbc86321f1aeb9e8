"""Unusual-day detection (bot.core.anomalies): hand-made series, an independent
recomputation of the band (numpy + scipy.stats.median_abs_deviation), the false-alarm
rate on simulated normal noise, and the demo generator's planted anomalies."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import stats

from bot.core.anomalies import (
    AnomalySettings,
    anomalies,
    baseline_days,
    check_day,
    check_days,
    pooled_residuals,
    robust_band,
)

DAY = date(2026, 11, 17)  # a Tuesday
WEEKDAY_LEVELS = [1000.0, 960.0, 940.0, 950.0, 860.0, 800.0, 920.0]  # Mon..Sun


def steady_history(day: date = DAY, weeks: int = 8, noise: float = 0.03) -> dict[date, float]:
    """``weeks`` weeks before ``day`` with weekday levels and a fixed ±noise pattern."""
    pattern = [1 + noise * x for x in (-1.0, 0.5, 1.0, -0.5, 0.0, 0.8, -0.8, 0.3)]
    series = {}
    for back in range(1, 7 * weeks + 1):
        d = day - timedelta(days=back)
        series[d] = WEEKDAY_LEVELS[d.weekday()] * pattern[(back * 5) % len(pattern)]
    return series


def test_band_of_plain_values_matches_scipy_on_the_log_scale() -> None:
    values = [100.0, 104.0, 97.0, 110.0, 93.0, 101.0, 99.0, 250.0]
    band = robust_band(values, AnomalySettings(relative_floor=0))
    assert band.median == pytest.approx(np.median(values))
    assert band.spread == pytest.approx(
        stats.median_abs_deviation(np.log(values), scale="normal"), rel=1e-4
    )  # 1.4826 vs 1/Φ⁻¹(¾)
    assert band.high == pytest.approx(band.median * math.exp(4 * band.spread))
    assert band.low == pytest.approx(band.median * math.exp(-4 * band.spread))


def test_pooled_spread_matches_an_independent_recomputation() -> None:
    series = steady_history(noise=0.08)
    series[DAY] = 500.0
    check = check_day(series, DAY, AnomalySettings(relative_floor=0))
    residuals = []
    for back in range(1, 8):
        days = [DAY - timedelta(days=back + 7 * w) for w in range(8)]
        logs = np.log([series[d] for d in days])
        residuals += list(logs - np.log(np.median([series[d] for d in days])))
    assert len(residuals) == 56
    expected = stats.median_abs_deviation(residuals, scale="normal")
    assert check.band is not None
    assert check.band.spread == pytest.approx(expected, rel=1e-4)
    assert check.band.median == pytest.approx(np.median([series[d] for d in baseline_days(DAY)]))
    assert sorted(pooled_residuals(series, DAY)) == pytest.approx(sorted(residuals))


def test_baseline_is_the_same_weekday_of_the_previous_eight_weeks() -> None:
    days = baseline_days(DAY)
    assert len(days) == 8
    assert all(d.weekday() == DAY.weekday() for d in days)
    assert days[0] == DAY - timedelta(days=7) and days[-1] == DAY - timedelta(days=56)


def test_a_drop_and_a_spike_are_flagged_and_normal_days_are_not() -> None:
    series = steady_history(noise=0.05)
    usual = WEEKDAY_LEVELS[DAY.weekday()]
    low = check_day({**series, DAY: usual * 0.5}, DAY)
    high = check_day({**series, DAY: usual * 1.8}, DAY)
    normal = check_day({**series, DAY: usual * 1.06}, DAY)
    assert low.direction == "low" and low.z is not None and low.z < -4
    assert high.direction == "high" and high.z is not None and high.z > 4
    assert normal.direction is None and not normal.is_anomaly


def test_one_earlier_outage_in_the_history_does_not_widen_the_band() -> None:
    """A mean ± 3 SD band would swallow the new drop; the median/MAD band doesn't."""
    series = steady_history(noise=0.04)
    series[DAY - timedelta(weeks=3)] = 5_000.0  # a flash sale three weeks ago
    series[DAY] = 650.0
    assert check_day(series, DAY).direction == "low"
    same = [series[d] for d in baseline_days(DAY)]
    assert np.mean(same) - 3 * np.std(same, ddof=1) < 650  # the naive band misses it


def test_weekday_levels_are_respected() -> None:
    """A Saturday at a normal Monday level is unusual for a Saturday."""
    saturday = DAY + timedelta(days=4)
    series = steady_history(saturday, noise=0.03)
    assert check_day({**series, saturday: 800.0}, saturday).direction is None
    assert check_day({**series, saturday: 1000.0 * 1.3}, saturday).direction == "high"


def test_relative_floor_stops_a_flat_history_from_flagging_small_changes() -> None:
    flat = {d: 500.0 for d in steady_history()}
    assert robust_band([500.0] * 8).raw_spread == 0
    # spread floor 0.05 in log units × k=4: the band is 500 × e^(±0.2).
    assert not check_day({**flat, DAY: 501.0}, DAY).is_anomaly
    assert not check_day({**flat, DAY: 500 * math.exp(0.19)}, DAY).is_anomaly
    assert check_day({**flat, DAY: 500 * math.exp(0.21)}, DAY).direction == "high"
    assert check_day({**flat, DAY: 500 * math.exp(-0.21)}, DAY).direction == "low"
    assert check_day(flat | {DAY: 700.0}, DAY).band.floored  # type: ignore[union-attr]


def test_absolute_floor_for_an_all_zero_history() -> None:
    zeros = {d: 0.0 for d in steady_history()}
    assert not check_day({**zeros, DAY: 3.5}, DAY).is_anomaly  # band reaches 4 × $1
    assert check_day({**zeros, DAY: 4.5}, DAY).direction == "high"
    assert check_day({**zeros, DAY: 0.0}, DAY).direction is None


def test_too_little_history_is_not_judged() -> None:
    series = steady_history()
    for w in (6, 7, 8):  # only 5 of the 8 same weekdays have data
        del series[DAY - timedelta(weeks=w)]
    check = check_day({**series, DAY: 10.0}, DAY)
    assert check.history == 5 and check.band is None
    assert not check.assessed and not check.is_anomaly and check.direction is None
    series[DAY - timedelta(weeks=6)] = WEEKDAY_LEVELS[DAY.weekday()]
    assert check_day({**series, DAY: 10.0}, DAY).direction == "low"


def test_short_data_falls_back_to_the_same_weekday_spread() -> None:
    """Only the same weekday has history: fewer than 24 pooled residuals."""
    same_only = {d: v for d, v in steady_history(noise=0.05).items() if d.weekday() == 1}
    check = check_day({**same_only, DAY: 900.0}, DAY, AnomalySettings(relative_floor=0))
    logs = np.log([same_only[d] for d in baseline_days(DAY)])
    assert check.band is not None
    assert check.band.spread == pytest.approx(
        stats.median_abs_deviation(logs, scale="normal"), rel=1e-4
    )


def test_missing_day_itself_is_not_assessed() -> None:
    check = check_day(steady_history(), DAY)
    assert check.value is None and not check.assessed and not check.is_anomaly


def test_check_days_keeps_order_and_anomalies_filters() -> None:
    week = [DAY + timedelta(days=i) for i in range(7)]
    series = steady_history(week[0], weeks=9, noise=0.03)
    for d in week:
        series[d] = WEEKDAY_LEVELS[d.weekday()]
    series[week[4]] = 10.0
    checks = check_days(series, week)
    assert [c.day for c in checks] == week
    assert [c.day for c in anomalies(checks)] == [week[4]]


def test_false_alarm_rate_on_normal_noise_is_low() -> None:
    """Pure noise: the method flags < 1.5 % of days (about 0.7 % expected), where
    plain median ± 3·MAD of the 8 same weekdays flags several times more."""
    rng = np.random.default_rng(20261124)
    start = date(2020, 1, 6)
    n_days = 56 + 2500
    values = rng.normal(1000.0, 100.0, n_days)
    series = {start + timedelta(days=i): float(v) for i, v in enumerate(values)}
    days = [start + timedelta(days=i) for i in range(56, n_days)]
    flagged = len(anomalies(check_days(series, days)))
    naive = 0
    for d in days:
        same = np.array([series[b] for b in baseline_days(d)])
        mad = stats.median_abs_deviation(same, scale="normal")
        naive += abs(series[d] - np.median(same)) > 3 * mad
    assert flagged / len(days) < 0.015
    assert naive / len(days) > 0.04
    assert naive > 3 * flagged


@pytest.mark.parametrize(
    "kwargs",
    [{"k": 0}, {"history_weeks": 0}, {"min_history": 9}, {"relative_floor": -1},
     {"absolute_floor": 0}],
)  # fmt: skip
def test_bad_settings_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        AnomalySettings(**kwargs)


# ------------------------------------------------------------------ planted anomalies

PLANTED_USERS = 30_000  # at 3,000 users a day has ~6 orders: noise hides a 0.3× day
PLANTED_END = date(2026, 11, 24)


@pytest.fixture(scope="module")
def planted_revenue(tmp_path_factory: pytest.TempPathFactory) -> dict[date, float]:
    """Daily revenue recomputed from the raw tables (METRICS.md), no dbt needed."""
    from bot.demo_data import generate

    path: Path = tmp_path_factory.mktemp("planted") / "planted.duckdb"
    generate(path, users=PLANTED_USERS, seed=7, end=PLANTED_END)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            """
            select cast(o.created_at as date) as day, sum(i.sale_price) as revenue
            from thelook.orders o join thelook.order_items i on i.order_id = o.order_id
            where o.status = 'Complete'
            group by 1
            """
        ).fetchall()
    revenue = {day: float(value) for day, value in rows}
    day = min(revenue)
    while day <= PLANTED_END:
        revenue.setdefault(day, 0.0)  # a day inside the data with no orders is a zero
        day += timedelta(days=1)
    return revenue


@pytest.mark.slow
def test_planted_anomalies_are_flagged_with_few_false_alarms(planted_revenue) -> None:
    from bot.demo_data import planted_anomalies

    planted = set(planted_anomalies(PLANTED_END))
    days = [PLANTED_END - timedelta(days=i) for i in range(300)]
    checks = check_days(planted_revenue, days)
    flagged = {c.day for c in anomalies(checks)}
    assert planted <= flagged, {str(c.day): c.z for c in checks if c.day in planted}
    false_alarms = flagged - planted
    assert len(false_alarms) <= 6, sorted(false_alarms)  # ≤ 2 % of 297 ordinary days
    naive = 0  # plain median ± 3·MAD of the 8 same weekdays, for contrast
    for d in days:
        same = [planted_revenue[b] for b in baseline_days(d)]
        mad = stats.median_abs_deviation(same, scale="normal")
        naive += abs(planted_revenue[d] - np.median(same)) > 3 * mad
    assert naive >= 3 * len(flagged)
