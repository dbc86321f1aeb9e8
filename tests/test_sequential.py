"""Sequential (always-valid) and fixed-horizon tests of bot/core/sequential.py against
GrowthBook's gbstats 0.8.0 (requirements-gbstats.txt), statsmodels and scipy, and a
simulation of daily peeking on A/A data.

Random cases come from seeded numpy generators so a failure is reproducible; gbstats does
the same arithmetic in numpy, so the tolerance is 1e-9 relative (rounding only).
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
from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
from scipy import stats as sps
from statsmodels.stats import proportion as smp

from bot.core import sequential as seq
from bot.core.decision import conversion_estimates, revenue_estimates
from bot.core.stats import VariantData

CASES = 300
REL = 1e-9


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def random_conversion(g: np.random.Generator) -> tuple[VariantData, VariantData]:
    n_c, n_t = (int(np.exp(g.uniform(np.log(50), np.log(500_000)))) for _ in range(2))
    rate = g.uniform(0.01, 0.5)
    lift = g.choice([0.0, g.normal(0, 0.1)])
    x_c = int(g.binomial(n_c, rate))
    x_t = int(g.binomial(n_t, min(max(rate * (1 + lift), 0.001), 0.999)))
    return VariantData("control", n_c, x_c, 0.0, 0.0), VariantData("treatment", n_t, x_t, 0.0, 0.0)


def random_revenue(g: np.random.Generator) -> tuple[VariantData, VariantData]:
    out = []
    for name in ("control", "treatment"):
        n = int(np.exp(g.uniform(np.log(20), np.log(20_000))))
        buys = g.random(n) < g.uniform(0.05, 0.6)
        values = np.where(buys, g.lognormal(3.5, 0.9, n), 0.0)
        out.append(
            VariantData(name, n, int(buys.sum()), float(values.sum()), float((values**2).sum()))
        )
    return out[0], out[1]


def proportion(v: VariantData) -> ProportionStatistic:
    return ProportionStatistic(n=v.users, sum=v.converters)


def sample_mean(v: VariantData) -> SampleMeanStatistic:
    return SampleMeanStatistic(n=v.users, sum=v.revenue_sum, sum_squares=v.revenue_sum_squares)


def assert_same(ours: seq.TestOutcome | None, theirs, context: object) -> int:
    """1 when compared; 0 when gbstats declined (a zero control mean or a zero variance in
    an arm, where it returns a placeholder and our test still runs on the pooled SE)."""
    if theirs.error_message is not None:
        return 0
    assert ours is not None, (context, theirs)
    assert close(ours.low, theirs.ci[0]), (context, ours, theirs.ci)
    assert close(ours.high, theirs.ci[1]), (context, ours, theirs.ci)
    assert close(ours.p_value, theirs.p_value), (context, ours.p_value, theirs.p_value)
    return 1


# --------------------------------------------------------------------------- gbstats


# gbstats computes the e-value with a plain exp(), which overflows to inf (p = 0) for
# large effects; ours works on the log scale. The warning is theirs.
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_sequential_conversion_matches_gbstats_on_random_inputs(difference: str) -> None:
    g = np.random.default_rng(101)
    compared = 0
    for _ in range(CASES):
        c, t = random_conversion(g)
        alpha = float(g.uniform(0.01, 0.2))
        tuning = float(np.exp(g.uniform(np.log(200), np.log(200_000))))
        raw = conversion_estimates(c, t)
        estimate = raw.absolute if difference == "absolute" else raw.relative
        config = SequentialConfig(
            alpha=alpha, difference_type=difference, sequential_tuning_parameter=tuning
        )
        theirs = SequentialTwoSidedTTest(proportion(c), proportion(t), config).compute_result()
        ours = seq.sequential(estimate, alpha, tuning) if estimate else None
        compared += assert_same(ours, theirs, (c, t, alpha, tuning))
    assert compared > 0.9 * CASES


# gbstats computes the e-value with a plain exp(), which overflows to inf (p = 0) for
# large effects; ours works on the log scale. The warning is theirs.
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_sequential_revenue_matches_gbstats_on_random_inputs(difference: str) -> None:
    g = np.random.default_rng(102)
    compared = 0
    for _ in range(CASES):
        c, t = random_revenue(g)
        alpha = float(g.uniform(0.01, 0.2))
        raw = revenue_estimates(c, t)
        estimate = raw.absolute if difference == "absolute" else raw.relative
        config = SequentialConfig(alpha=alpha, difference_type=difference)  # tuning 5000
        theirs = SequentialTwoSidedTTest(sample_mean(c), sample_mean(t), config).compute_result()
        ours = seq.sequential(estimate, alpha) if estimate else None
        compared += assert_same(ours, theirs, (c, t, alpha))
    assert compared > 0.9 * CASES


@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_fixed_horizon_revenue_matches_gbstats_welch_on_random_inputs(difference: str) -> None:
    g = np.random.default_rng(103)
    for _ in range(CASES):
        c, t = random_revenue(g)
        alpha = float(g.uniform(0.01, 0.2))
        raw = revenue_estimates(c, t)
        estimate = raw.absolute if difference == "absolute" else raw.relative
        config = FrequentistConfig(alpha=alpha, difference_type=difference)
        theirs = TwoSidedTTest(sample_mean(c), sample_mean(t), config).compute_result()
        # gbstats computes p as 1 − cdf: below ~1e-12 its p is rounding noise.
        ours = seq.fixed_horizon(estimate, alpha)
        assert ours is not None
        assert close(ours.low, theirs.ci[0]) and close(ours.high, theirs.ci[1])
        assert close(ours.p_value, theirs.p_value, 1e-6) or max(ours.p_value, theirs.p_value) < 1e-9


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels' odds ratio
def test_fixed_horizon_conversion_matches_statsmodels_wald_on_random_inputs() -> None:
    """Unpooled Wald z-test and Wald interval: one standard error for both."""
    g = np.random.default_rng(104)
    for _ in range(CASES):
        c, t = random_conversion(g)
        alpha = float(g.uniform(0.01, 0.2))
        ours = seq.fixed_horizon(conversion_estimates(c, t).absolute, alpha)
        low, high = smp.confint_proportions_2indep(
            t.converters, t.users, c.converters, c.users, method="wald", compare="diff", alpha=alpha
        )
        result = smp.test_proportions_2indep(
            t.converters,
            t.users,
            c.converters,
            c.users,
            method="wald",
            compare="diff",
            return_results=True,
        )
        assert ours is not None
        assert close(ours.low, low, 1e-9) and close(ours.high, high, 1e-9)
        assert close(ours.p_value, result.pvalue, 1e-9) or ours.p_value < 1e-12


def test_p_below_alpha_exactly_when_the_interval_excludes_zero() -> None:
    """The pairing rule, for both tests, including a smaller level read with the design α's
    ρ (the Holm step-down levels)."""
    g = np.random.default_rng(105)
    for _ in range(CASES):
        c, t = random_conversion(g)
        estimate = conversion_estimates(c, t).absolute
        alpha = float(g.uniform(0.01, 0.2))
        level_alpha = alpha / int(g.integers(1, 4))
        for outcome in (
            seq.fixed_horizon(estimate, level_alpha),
            seq.sequential(estimate, level_alpha, design_alpha=alpha),
        ):
            assert outcome is not None
            excludes = outcome.low > 0 or outcome.high < 0
            assert (outcome.p_value < level_alpha) == excludes, (c, t, outcome)


def test_sequential_interval_is_wider_than_fixed_and_p_larger() -> None:
    c = VariantData("control", 20_000, 2_000, 0.0, 0.0)
    t = VariantData("treatment", 20_000, 2_150, 0.0, 0.0)
    estimate = conversion_estimates(c, t).absolute
    fixed, always = seq.fixed_horizon(estimate, 0.05), seq.sequential(estimate, 0.05)
    assert always.low < fixed.low and always.high > fixed.high
    assert always.p_value > fixed.p_value
    assert fixed.p_value < 0.05 < always.p_value  # a peeker's "winner" the sequence refuses


def test_degenerate_estimates_give_no_test() -> None:
    for variance in (0.0, -1.0, math.nan):
        estimate = seq.Estimate(0.1, variance, 100)
        assert seq.fixed_horizon(estimate, 0.05) is None
        assert seq.sequential(estimate, 0.05) is None
    assert seq.sequential(seq.Estimate(0.1, 0.01, 0), 0.05) is None
    # A huge effect: the e-value overflows exp() unless computed on the log scale.
    huge = seq.sequential(seq.Estimate(1.0, 1e-12, 10_000_000), 0.05)
    assert huge is not None and huge.p_value == 0.0


def test_welch_df_matches_scipy() -> None:
    g = np.random.default_rng(106)
    for _ in range(50):
        a, b = (
            g.lognormal(3, 1, int(g.integers(5, 400))),
            g.lognormal(3, 1, int(g.integers(5, 400))),
        )
        df = seq.welch_df(a.var(ddof=1), len(a), b.var(ddof=1), len(b))
        result = sps.ttest_ind(b, a, equal_var=False)
        assert close(df, result.df, 1e-9)


# --------------------------------------------------------------------------- peeking


def daily_aa(g: np.random.Generator, sims: int, days: int, per_day: int, rate: float):
    """Cumulative users and converters per arm after each day, shape (sims, days)."""
    n = np.cumsum(np.full((sims, days), per_day), axis=1)
    x_c = np.cumsum(g.binomial(per_day, rate, (sims, days)), axis=1)
    x_t = np.cumsum(g.binomial(per_day, rate, (sims, days)), axis=1)
    return n, x_c, x_t


def p_values(n, x_c, x_t, always_valid: bool, alpha: float) -> np.ndarray:
    out = np.ones(n.shape)
    for idx in np.ndindex(n.shape):
        c = VariantData("control", int(n[idx]), int(x_c[idx]), 0.0, 0.0)
        t = VariantData("treatment", int(n[idx]), int(x_t[idx]), 0.0, 0.0)
        estimate = conversion_estimates(c, t).absolute
        if estimate is not None:
            outcome = seq.run(estimate, alpha, always_valid=always_valid)
            out[idx] = outcome.p_value if outcome else 1.0
    return out


def test_daily_looks_on_aa_data_stay_below_alpha_only_with_the_sequential_test() -> None:
    """400 A/A experiments, 28 daily looks each: the share that ever shows p < α is the
    false-winner rate of someone asking every day. ≤ α for the confidence sequence; the
    fixed-horizon test, peeked at daily, exceeds α (the defect the sequence fixes)."""
    alpha, sims = 0.05, 400
    n, x_c, x_t = daily_aa(np.random.default_rng(107), sims, 28, 150, 0.1)
    sequential_rate = (p_values(n, x_c, x_t, True, alpha) < alpha).any(axis=1).mean()
    fixed_rate = (p_values(n, x_c, x_t, False, alpha) < alpha).any(axis=1).mean()
    assert sequential_rate <= alpha
    assert fixed_rate > 2 * alpha  # ~0.2 with 28 looks: why peeking needs the sequence
