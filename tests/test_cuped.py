"""CUPED (bot/core/cuped.py) against gbstats' RegressionAdjustedStatistic, numpy on the raw
per-user values, and through the planned analysis (bot/core/decision.py).

Per-user data are generated (pre-exposure revenue x, post-exposure revenue y correlated
with it), reduced to the mart's sufficient statistics, and compared at 1e-9 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import RegressionAdjustedStatistic, SampleMeanStatistic

from bot.core import sequential as seq
from bot.core.cuped import CovariateStats, cuped_estimate, pooled_theta
from bot.core.decision import revenue_estimates
from bot.core.plan import REVENUE_PER_USER, default_plan
from bot.core.stats import VariantData, analyze_experiment

CASES = 200


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def users(g: np.random.Generator, n: int, lift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) revenue per user: spenders keep spending, with noise."""
    propensity = g.gamma(0.5, 2.0, n)
    pre = np.where(g.random(n) < np.minimum(0.3 * propensity, 0.9), g.lognormal(3.5, 0.8, n), 0)
    buys = g.random(n) < np.minimum(0.3 * propensity * (1 + lift), 0.95)
    post = np.where(buys, g.lognormal(3.5, 0.8, n), 0.0) + 0.3 * pre
    return pre, post


def stats(pre: np.ndarray, post: np.ndarray) -> CovariateStats:
    return CovariateStats(
        len(post),
        float(post.sum()),
        float((post**2).sum()),
        float(pre.sum()),
        float((pre**2).sum()),
        float((post * pre).sum()),
    )


def variant(name: str, pre: np.ndarray, post: np.ndarray) -> VariantData:
    s = stats(pre, post)
    return VariantData(
        name,
        s.n,
        int((post > 0).sum()),
        s.post_sum,
        s.post_sum_squares,
        s.pre_sum,
        s.pre_sum_squares,
        s.post_pre_sum_products,
    )


def gb(s: CovariateStats) -> RegressionAdjustedStatistic:
    return RegressionAdjustedStatistic(
        n=s.n,
        post_statistic=SampleMeanStatistic(n=s.n, sum=s.post_sum, sum_squares=s.post_sum_squares),
        pre_statistic=SampleMeanStatistic(n=s.n, sum=s.pre_sum, sum_squares=s.pre_sum_squares),
        post_pre_sum_of_products=s.post_pre_sum_products,
        theta=0,
    )


def random_pair(g: np.random.Generator) -> tuple[CovariateStats, CovariateStats]:
    n_c = int(np.exp(g.uniform(np.log(30), np.log(20_000))))
    n_t = int(np.exp(g.uniform(np.log(30), np.log(20_000))))
    lift = float(g.choice([0.0, g.normal(0, 0.2)]))
    return stats(*users(g, n_c)), stats(*users(g, n_t, lift))


@pytest.mark.parametrize("difference", ["absolute", "relative"])
@pytest.mark.parametrize("sequential", [False, True])
def test_cuped_matches_gbstats_on_random_inputs(difference: str, sequential: bool) -> None:
    g = np.random.default_rng(201 + sequential)
    compared = 0
    for _ in range(CASES):
        c, t = random_pair(g)
        alpha = float(g.uniform(0.01, 0.2))
        ours = cuped_estimate(c, t)
        assert ours is not None
        estimate = ours.absolute if difference == "absolute" else ours.relative
        if sequential:
            config = SequentialConfig(alpha=alpha, difference_type=difference)
            test = SequentialTwoSidedTTest(gb(c), gb(t), config)
            outcome = seq.sequential(estimate, alpha)
        else:
            test = TwoSidedTTest(
                gb(c), gb(t), FrequentistConfig(alpha=alpha, difference_type=difference)
            )
            outcome = seq.fixed_horizon(estimate, alpha)
        theirs = test.compute_result()
        if theirs.error_message is not None:  # gbstats declines a zero adjusted control mean
            continue
        compared += 1
        assert close(ours.theta, test.stat_a.theta), (ours.theta, test.stat_a.theta)
        assert close(estimate.value, theirs.expected)
        assert close(outcome.low, theirs.ci[0]) and close(outcome.high, theirs.ci[1])
        # gbstats' fixed-horizon p is 1 − cdf: rounding noise below ~1e-9.
        assert (
            close(outcome.p_value, theirs.p_value, 1e-6)
            or max(outcome.p_value, theirs.p_value) < 1e-9
        )
    assert compared > 0.9 * CASES


def test_theta_is_the_pooled_least_squares_slope() -> None:
    """θ = Cov(y, x) / Var(x) over both arms' users together (numpy on the raw values)."""
    g = np.random.default_rng(203)
    for _ in range(50):
        pre_c, post_c = users(g, int(g.integers(50, 3000)))
        pre_t, post_t = users(g, int(g.integers(50, 3000)), 0.1)
        pre, post = np.concatenate([pre_c, pre_t]), np.concatenate([post_c, post_t])
        slope = np.cov(post, pre, ddof=1)[0, 1] / pre.var(ddof=1)
        assert close(pooled_theta(stats(pre_c, post_c), stats(pre_t, post_t)), slope, 1e-8)


def test_adjusted_difference_equals_the_difference_of_residual_means() -> None:
    g = np.random.default_rng(204)
    pre_c, post_c = users(g, 4000)
    pre_t, post_t = users(g, 4000, 0.15)
    c, t = stats(pre_c, post_c), stats(pre_t, post_t)
    result = cuped_estimate(c, t)
    theta = result.theta
    residual_c, residual_t = post_c - theta * pre_c, post_t - theta * pre_t
    assert close(result.absolute.value, residual_t.mean() - residual_c.mean(), 1e-9)
    expected = residual_c.var(ddof=1) / len(post_c) + residual_t.var(ddof=1) / len(post_t)
    assert close(result.absolute.variance, expected, 1e-8)
    raw = post_c.var(ddof=1) / len(post_c) + post_t.var(ddof=1) / len(post_t)
    assert close(result.variance_reduction, 1 - expected / raw, 1e-8)
    assert result.variance_reduction > 0.05  # the covariate carries real information here


def test_no_covariate_variance_falls_back_to_the_plain_difference() -> None:
    """Nobody spent before exposure: θ = 0, the unadjusted Welch difference, no reduction."""
    g = np.random.default_rng(205)
    _, post_c = users(g, 500)
    _, post_t = users(g, 500)
    zeros = np.zeros(500)
    result = cuped_estimate(stats(zeros, post_c), stats(zeros, post_t))
    assert result.theta == 0 and result.variance_reduction == 0
    assert close(result.absolute.value, post_t.mean() - post_c.mean())
    assert cuped_estimate(stats(zeros[:1], post_c[:1]), stats(zeros, post_t)) is None


def test_planned_analysis_reports_the_cuped_interval_and_variance_reduction() -> None:
    g = np.random.default_rng(206)
    control = variant("control", *users(g, 6000))
    treatment = variant("treatment", *users(g, 6000, 0.2))
    plan = default_plan("e")
    result = analyze_experiment("e", [control, treatment], plan=plan)
    revenue = next(m for m in result.decision.arms[0].guardrails if m.metric == REVENUE_PER_USER)
    expected = cuped_estimate(*(stats_of(v) for v in (control, treatment)))
    assert revenue.cuped is not None
    assert close(revenue.estimate, expected.absolute.value)
    fixed = seq.fixed_horizon(expected.absolute, 0.05)
    assert close(revenue.ci.low, fixed.low) and close(revenue.ci.high, fixed.high)
    assert revenue.cuped.variance_reduction > 0
    # Without the covariate columns the same data get the plain Welch test.
    plain = [
        VariantData(v.name, v.users, v.converters, v.revenue_sum, v.revenue_sum_squares)
        for v in (control, treatment)
    ]
    assert revenue_estimates(*plain).cuped is None


def stats_of(v: VariantData) -> CovariateStats:
    return CovariateStats(
        v.users,
        v.revenue_sum,
        v.revenue_sum_squares,
        v.pre_revenue_sum,
        v.pre_revenue_sum_squares,
        v.revenue_pre_revenue_sum_products,
    )
