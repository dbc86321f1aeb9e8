"""Experiment statistics against independent references (statsmodels, scipy), hand-worked
cases, degenerate inputs, verdict texts and invariants (METRICS.md, Experiments).

Random cases come from seeded numpy generators (300 per statistic) so a failure is
reproducible; the tolerances are stated next to each comparison.
"""

from __future__ import annotations

import dataclasses
import gc
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from bot.core.stats import (
    HOLM,
    ExperimentSettings,
    Interval,
    VariantData,
    abs_lift_interval,
    analyze_experiment,
    choose_control,
    compare,
    holm_adjust,
    minimum_detectable_effect,
    proportion_interval,
    rel_lift_interval,
    srm_check,
    two_proportion_test,
    users_needed_per_arm,
    welch_test,
)
from bot.render.summary import VERDICT_ICONS
from bot.render.verdicts import verdict_text

CASES = 300
Z975 = 1.959963984540054  # z(0.975)
Z80 = 0.8416212335729143  # z(0.8)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def random_counts(g: np.random.Generator) -> tuple[int, int]:
    """n from tiny to large (log-uniform), a rate from anywhere in [0, 1]."""
    n = int(np.exp(g.uniform(0, np.log(200_000))))
    rate = g.choice([g.uniform(0, 1), g.uniform(0, 0.05), g.uniform(0.95, 1)])
    return int(g.binomial(n, rate)), n


def variant(name: str, n: int, x: int, revenue: np.ndarray | None = None) -> VariantData:
    """A variant whose revenue sufficient statistics come from actual per-user values."""
    if revenue is None:
        revenue = np.zeros(n)
    return VariantData(name, n, x, float(revenue.sum()), float((revenue**2).sum()))


def revenue_sample(g: np.random.Generator, n: int, rate: float) -> tuple[np.ndarray, int]:
    """Per-user revenue: 0 for non-converters, log-normal order values for converters."""
    converted = g.random(n) < rate
    values = np.where(converted, g.lognormal(3.5, 0.9, n), 0.0).round(2)
    return values, int(converted.sum())


# --------------------------------------------------------------------------- z-test


def test_z_and_p_match_proportions_ztest_on_random_inputs() -> None:
    g, checked = rng(1), 0
    for _ in range(CASES):
        x_t, n_t = random_counts(g)
        x_c, n_c = random_counts(g)
        c = compare(variant("A", n_c, x_c), variant("B", n_t, x_t), ExperimentSettings())
        pooled = (x_t + x_c) / (n_t + n_c)
        if pooled in (0.0, 1.0):
            assert c.z is None and c.p_value is None and c.message
            continue
        z_ref, p_ref = proportions_ztest([x_t, x_c], [n_t, n_c])
        assert c.z == pytest.approx(z_ref, rel=1e-9, abs=1e-12)
        assert c.p_value == pytest.approx(p_ref, rel=1e-9, abs=1e-300)
        assert two_proportion_test(x_t, n_t, x_c, n_c) == pytest.approx(p_ref, rel=1e-9)
        checked += 1
    assert checked > CASES * 0.8


def test_z_test_hand_worked() -> None:
    # A: 100/1000, B: 120/1000. Pooled rate 0.11, SE = √(0.11·0.89·(2/1000)) = 0.01399286,
    # z = 0.02 / 0.01399286 = 1.429301, p = erfc(z/√2) = 0.152918.
    c = compare(variant("A", 1000, 100), variant("B", 1000, 120), ExperimentSettings())
    assert c.z == pytest.approx(1.429301, abs=1e-6)
    assert c.p_value == pytest.approx(0.152918, abs=1e-6)
    assert c.abs_lift == pytest.approx(0.02)
    assert c.rel_lift == pytest.approx(0.2)


# --------------------------------------------------------------------------- intervals


def test_abs_ci_matches_statsmodels_wald_diff_on_random_inputs() -> None:
    g = rng(2)
    for _ in range(CASES):
        x_t, n_t = random_counts(g)
        x_c, n_c = random_counts(g)
        level = float(g.choice([0.8, 0.9, 0.95, 0.99, g.uniform(0.5, 0.999)]))
        ci = abs_lift_interval(x_t, n_t, x_c, n_c, level)
        p_t, p_c = x_t / n_t, x_c / n_c
        if p_t * (1 - p_t) + p_c * (1 - p_c) == 0:
            assert ci is None
            continue
        low, high = confint_proportions_2indep(
            x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=1 - level
        )
        assert ci is not None and ci.level == level
        assert ci.low == pytest.approx(low, rel=1e-9, abs=1e-12)
        assert ci.high == pytest.approx(high, rel=1e-9, abs=1e-12)


def test_wilson_interval_matches_statsmodels_on_random_inputs() -> None:
    g = rng(3)
    for _ in range(CASES):
        x, n = random_counts(g)
        level = float(g.uniform(0.5, 0.999))
        ci = proportion_interval(x, n, level)
        low, high = proportion_confint(x, n, alpha=1 - level, method="wilson")
        assert ci is not None
        assert ci.low == pytest.approx(low, rel=1e-9, abs=1e-12)
        assert ci.high == pytest.approx(high, rel=1e-9, abs=1e-12)
        assert 0.0 <= ci.low <= x / n <= ci.high <= 1.0
    assert proportion_interval(0, 0, 0.95) is None


def test_relative_ci_hand_worked_delta_method() -> None:
    # A: 100/1000 (μ_C 0.1, σ²_C 0.09), B: 120/1000 (μ_T 0.12, σ²_T 0.1056).
    # Var = 0.09·0.0144/(0.0001·1000) + 0.1056/(0.01·1000) = 0.01296 + 0.01056 = 0.02352,
    # half-width = 1.959964·√0.02352 = 0.300585, around 0.12/0.1 − 1 = 0.2.
    ci = rel_lift_interval(120, 1000, 100, 1000, 0.95)
    assert ci is not None
    assert ci.low == pytest.approx(0.2 - 0.300585, abs=1e-6)
    assert ci.high == pytest.approx(0.2 + 0.300585, abs=1e-6)


def test_relative_ci_matches_numerical_delta_method_on_random_inputs() -> None:
    """The delta method by a numerically differentiated gradient of g(a, b) = a/b − 1
    with Cov = diag(p(1−p)/n): independent of the closed form in the module."""
    g = rng(4)
    for _ in range(CASES):
        n_t, n_c = (int(g.integers(20, 50_000)) for _ in range(2))
        x_t = int(g.integers(1, n_t))  # 0 < rates < 1: the ratio and its variance exist
        x_c = int(g.integers(1, n_c))
        a, b = x_t / n_t, x_c / n_c
        h = 1e-7
        grad_a = ((a + h) / b - (a - h) / b) / (2 * h)
        grad_b = (a / (b + h) - a / (b - h)) / (2 * h)
        var = grad_a**2 * a * (1 - a) / n_t + grad_b**2 * b * (1 - b) / n_c
        half = Z975 * math.sqrt(var)
        ci = rel_lift_interval(x_t, n_t, x_c, n_c, 0.95)
        assert ci is not None
        assert ci.low == pytest.approx(a / b - 1 - half, rel=1e-5, abs=1e-9)
        assert ci.high == pytest.approx(a / b - 1 + half, rel=1e-5, abs=1e-9)


def test_relative_ci_coverage_by_simulation() -> None:
    """4000 seeded experiments with true rates 10 % vs 11.5 % (true relative lift +15 %):
    the 95 % delta-method interval should cover the truth ~95 % of the time. The
    simulation's own SE is √(0.95·0.05/4000) ≈ 0.0034, so ±0.012 is > 3 SE."""
    g = rng(5)
    n, p_c, p_t, reps = 4000, 0.10, 0.115, 4000
    truth = p_t / p_c - 1
    x_c = g.binomial(n, p_c, reps)
    x_t = g.binomial(n, p_t, reps)
    covered = 0
    for xt, xc in zip(x_t, x_c, strict=True):
        ci = rel_lift_interval(int(xt), n, int(xc), n, 0.95)
        assert ci is not None
        covered += ci.contains(truth)
    assert covered / reps == pytest.approx(0.95, abs=0.012)


def test_abs_ci_coverage_by_simulation() -> None:
    g = rng(6)
    n_c, n_t, p_c, p_t, reps = 3000, 2500, 0.2, 0.18, 4000
    x_c = g.binomial(n_c, p_c, reps)
    x_t = g.binomial(n_t, p_t, reps)
    covered = sum(
        abs_lift_interval(int(xt), n_t, int(xc), n_c, 0.9).contains(p_t - p_c)  # type: ignore[union-attr]
        for xt, xc in zip(x_t, x_c, strict=True)
    )
    assert covered / reps == pytest.approx(0.90, abs=0.015)  # simulation SE ≈ 0.0047


# --------------------------------------------------------------------------- Welch


def test_welch_matches_scipy_on_random_inputs() -> None:
    g = rng(7)
    for _ in range(CASES):
        n_t, n_c = (int(np.exp(g.uniform(np.log(2), np.log(3000)))) for _ in range(2))
        rev_t, x_t = revenue_sample(g, n_t, float(g.uniform(0.02, 0.9)))
        rev_c, x_c = revenue_sample(g, n_c, float(g.uniform(0.02, 0.9)))
        level = float(g.choice([0.9, 0.95, 0.99]))
        result = welch_test(variant("B", n_t, x_t, rev_t), variant("A", n_c, x_c, rev_c), level)
        if rev_t.var() == 0 and rev_c.var() == 0:
            assert result is None
            continue
        assert result is not None
        raw = sps.ttest_ind(rev_t, rev_c, equal_var=False)
        from_stats = sps.ttest_ind_from_stats(
            rev_t.mean(), rev_t.std(ddof=1), n_t, rev_c.mean(), rev_c.std(ddof=1), n_c,
            equal_var=False,
        )  # fmt: skip
        # Σx² − (Σx)²/n loses a few digits to cancellation: 1e-7 relative is still tight.
        assert result.diff == pytest.approx(rev_t.mean() - rev_c.mean(), rel=1e-9, abs=1e-9)
        assert result.t == pytest.approx(raw.statistic, rel=1e-7)
        assert result.t == pytest.approx(from_stats.statistic, rel=1e-7)
        assert result.p_value == pytest.approx(raw.pvalue, rel=1e-6, abs=1e-12)
        assert result.p_value == pytest.approx(from_stats.pvalue, rel=1e-6, abs=1e-12)
        assert result.df == pytest.approx(raw.df, rel=1e-7)
        low, high = raw.confidence_interval(confidence_level=level)
        assert result.ci is not None and result.ci.level == level
        assert result.ci.low == pytest.approx(low, rel=1e-6, abs=1e-8)
        assert result.ci.high == pytest.approx(high, rel=1e-6, abs=1e-8)


def test_welch_hand_worked() -> None:
    # B: revenue 10, 20, 30 (mean 20, s² 100); A: 5, 5, 15, 15 (mean 10, s² 100/3).
    # SE² = 100/3 + (100/3)/4 = 41.6667, t = 10/6.45497 = 1.54919,
    # df = 41.6667² / ((100/3)²/2 + (25/3)²/3) = 1736.11 / (555.556 + 23.1481) = 2.99999…
    b = variant("B", 3, 3, np.array([10.0, 20.0, 30.0]))
    a = variant("A", 4, 4, np.array([5.0, 5.0, 15.0, 15.0]))
    result = welch_test(b, a, 0.95)
    assert result is not None
    assert result.diff == pytest.approx(10.0)
    assert result.t == pytest.approx(1.54919, abs=1e-5)
    assert result.df == pytest.approx(1736.111 / 578.704, rel=1e-5)


def test_welch_degenerate() -> None:
    zero = variant("A", 100, 0)
    assert welch_test(variant("B", 100, 0), zero, 0.95) is None  # no variance anywhere
    assert welch_test(variant("B", 1, 1, np.array([5.0])), zero, 0.95) is None  # n < 2


# --------------------------------------------------------------------------- Holm


@pytest.fixture
def frozen_heap():
    """statsmodels' multipletests calls gc.collect() on every call; freezing the objects
    that already exist keeps 300 calls from scanning the whole test session's heap."""
    gc.freeze()
    yield
    gc.unfreeze()


def test_holm_matches_multipletests_on_random_inputs(frozen_heap) -> None:
    g = rng(8)
    for _ in range(CASES):
        m = int(g.integers(1, 9))
        p = g.choice([g.uniform(0, 1, m), g.uniform(0, 0.06, m), g.beta(0.3, 3, m)])
        if g.random() < 0.2:
            p[: m // 2] = p[0]  # ties
        reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
        ours = holm_adjust(list(p))
        assert ours == pytest.approx(list(adjusted), rel=1e-12, abs=1e-15)
        assert [q <= 0.05 for q in ours] == list(reject)


def test_abn_adjusts_every_comparison_with_holm(frozen_heap) -> None:
    g = rng(9)
    for _ in range(60):
        k = int(g.integers(3, 7))
        names = [f"v{i}" for i in range(k)]
        n = int(g.integers(500, 5000))
        variants = [variant(name, n, int(g.binomial(n, g.uniform(0.08, 0.12)))) for name in names]
        result = analyze_experiment("abn", variants)
        assert result.control == "v0" and result.adjustment == HOLM
        raw = [c.p_value for c in result.comparisons]
        reject, adjusted, _, _ = multipletests(raw, alpha=0.05, method="holm")
        assert [c.p_adjusted for c in result.comparisons] == pytest.approx(list(adjusted))
        assert [c.significant for c in result.comparisons] == list(reject)


def test_holm_can_remove_significance() -> None:
    # B alone would be significant (p ≈ 0.035); with C also tested, Holm doubles it.
    base = [variant("A", 1000, 100), variant("B", 1000, 130)]
    alone = analyze_experiment("e", base)
    assert alone.comparisons[0].significant and alone.adjustment is None
    assert alone.comparisons[0].p_adjusted == alone.comparisons[0].p_value
    three = analyze_experiment("e", [*base, variant("C", 1000, 101)])
    b = three.comparisons[0]
    assert b.treatment == "B" and b.p_value < 0.05 < b.p_adjusted
    assert b.p_adjusted == pytest.approx(2 * b.p_value)
    assert not b.significant
    assert three.verdict_kind == "no_difference"
    assert "Holm-adjusted p = 0.071" in verdict_text(three)


# --------------------------------------------------------------------------- SRM


def test_srm_matches_chisquare_on_random_inputs() -> None:
    g = rng(10)
    for _ in range(CASES):
        k = int(g.integers(2, 6))
        names = [f"v{i}" for i in range(k)]
        weights = g.uniform(0.2, 3, k) if g.random() < 0.5 else np.ones(k)
        probs = weights / weights.sum()
        if g.random() < 0.5:  # a real mismatch of a few percent
            probs = probs * g.uniform(0.93, 1.07, k)
            probs = probs / probs.sum()
        counts = g.multinomial(int(g.integers(10, 200_000)), probs)
        split = dict(zip(names, weights.tolist(), strict=True))
        variants = [variant(n, int(c), 0) for n, c in zip(names, counts, strict=True)]
        check = srm_check(variants, ExperimentSettings(expected_split=split))
        expected = counts.sum() * weights / weights.sum()
        ref = sps.chisquare(counts, expected)
        assert check.chi2 == pytest.approx(ref.statistic, rel=1e-9, abs=1e-12)
        assert check.p_value == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
        assert check.flagged == (ref.pvalue < 0.001)
        assert list(check.expected.values()) == pytest.approx(list(expected))


def test_srm_default_split_is_equal_and_threshold_is_strict() -> None:
    # 5,000 vs 5,200 users: χ² = 200²/(2·5100)... = 3.92, p ≈ 0.048: not < 0.001.
    ok = srm_check([variant("A", 5000, 0), variant("B", 5200, 0)], ExperimentSettings())
    assert ok.expected == {"A": 5100.0, "B": 5100.0}
    assert ok.chi2 == pytest.approx(2 * 100**2 / 5100)
    assert 0.001 < ok.p_value < 0.05 and not ok.flagged
    bad = srm_check([variant("A", 5000, 0), variant("B", 5400, 0)], ExperimentSettings())
    assert bad.p_value < 0.001 and bad.flagged
    lenient = ExperimentSettings(srm_threshold=0.05)
    assert srm_check([variant("A", 5000, 0), variant("B", 5200, 0)], lenient).flagged


def test_srm_cannot_run_says_why() -> None:
    one = srm_check([variant("A", 10, 1)], ExperimentSettings())
    assert one.p_value is None and not one.flagged and "two variants" in (one.message or "")
    empty = srm_check([variant("A", 0, 0), variant("B", 0, 0)], ExperimentSettings())
    assert empty.p_value is None and empty.message == "no users yet"
    partial = ExperimentSettings(expected_split={"A": 1.0})
    gap = srm_check([variant("A", 10, 1), variant("B", 10, 1)], partial)
    assert gap.p_value is None and "B" in (gap.message or "")


def test_srm_counts_a_variant_missing_from_the_data() -> None:
    # The split expects C but the mart has no row for it: 0 users is the mismatch.
    split = ExperimentSettings(expected_split={"A": 1, "B": 1, "C": 1})
    check = srm_check([variant("A", 1000, 0), variant("B", 1000, 0)], split)
    assert check.observed == {"A": 1000, "B": 1000, "C": 0}
    assert check.flagged


# --------------------------------------------------------------------------- power


def test_mde_matches_normal_ind_power_on_random_inputs() -> None:
    """At the MDE (standardised by the control SD), statsmodels' NormalIndPower gives the
    configured power plus the far tail Φ(−2·z_a − z_b) that the closed form leaves out:
    an exact identity, checked to 1e-9."""
    g = rng(11)
    for _ in range(CASES):
        n_c, n_t = (int(g.integers(50, 100_000)) for _ in range(2))
        p_c = float(g.uniform(0.005, 0.995))
        alpha, power = float(g.uniform(0.01, 0.2)), float(g.uniform(0.5, 0.99))
        mde = minimum_detectable_effect(p_c, n_c, n_t, alpha, power)
        assert mde is not None and mde > 0
        effect = mde / math.sqrt(p_c * (1 - p_c))
        reached = NormalIndPower().power(effect, nobs1=n_c, alpha=alpha, ratio=n_t / n_c)
        z_a, z_b = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
        assert reached == pytest.approx(power + sps.norm.cdf(-2 * z_a - z_b), abs=1e-9)
        solved = NormalIndPower().solve_power(
            effect_size=None, nobs1=n_c, alpha=alpha, power=power, ratio=n_t / n_c
        )
        # solve_power counts the far tail too; at α ≤ 0.2 and power ≥ 0.5 that moves the
        # effect size by under 1 % (0.85 % at worst over these cases).
        assert effect == pytest.approx(solved, rel=1e-2)


def test_mde_and_sample_size_hand_worked() -> None:
    # p_C 0.1, 1000 per arm: (1.959964 + 0.841621)·√(0.09·0.002) = 2.801585·0.0134164.
    assert minimum_detectable_effect(0.1, 1000, 1000, 0.05, 0.8) == pytest.approx(
        0.0375872, abs=1e-7
    )
    # 0.1 → 0.12: 2.801585²·(0.09 + 0.1056)/0.02² = 7.848879·489 = 3838.10 → 3839.
    assert users_needed_per_arm(0.1, 0.12, 0.05, 0.8) == 3839
    closed_form = (Z975 + Z80) ** 2 * (0.09 + 0.1056) / 0.0004
    assert closed_form == pytest.approx(3838.10, abs=0.01)


def test_users_needed_reaches_power_on_random_inputs() -> None:
    """The returned n reaches the power in statsmodels' NormalIndPower (effect size
    Δ/√((σ²_C + σ²_T)/2), equal arms) and n − 1 doesn't (beyond the far-tail slack)."""
    g = rng(12)
    for _ in range(CASES):
        p_c = float(g.uniform(0.01, 0.9))
        p_t = float(np.clip(p_c * g.uniform(0.5, 1.5), 0.001, 0.999))
        alpha, power = float(g.uniform(0.01, 0.1)), float(g.uniform(0.7, 0.95))
        n = users_needed_per_arm(p_c, p_t, alpha, power)
        assert n is not None
        effect = abs(p_t - p_c) / math.sqrt((p_c * (1 - p_c) + p_t * (1 - p_t)) / 2)
        z_a, z_b = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
        tail = sps.norm.cdf(-2 * z_a - z_b)  # < 1e-4 in this range
        assert NormalIndPower().power(effect, nobs1=n, alpha=alpha, ratio=1) >= power
        if n > 1:
            below = NormalIndPower().power(effect, nobs1=n - 1, alpha=alpha, ratio=1)
            assert below < power + tail


def test_users_needed_close_to_cohens_h_for_moderate_lifts() -> None:
    """The arcsine (Cohen's h) sizing of statsmodels' docs differs by design, but for
    rates 2–60 % and lifts of 5–30 % relative the two agree within 3 %."""
    g = rng(13)
    for _ in range(CASES):
        p_c = float(g.uniform(0.02, 0.6))
        p_t = p_c * (1 + float(g.choice([-1, 1])) * float(g.uniform(0.05, 0.3)))
        n = users_needed_per_arm(p_c, p_t, 0.05, 0.8)
        h = proportion_effectsize(p_t, p_c)
        reference = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1)
        assert n == pytest.approx(reference, rel=0.03)


def test_power_figures_degenerate() -> None:
    assert users_needed_per_arm(0.1, 0.1, 0.05, 0.8) is None  # no lift to detect
    assert minimum_detectable_effect(0.0, 100, 100, 0.05, 0.8) is None
    assert minimum_detectable_effect(1.0, 100, 100, 0.05, 0.8) is None
    assert minimum_detectable_effect(0.1, 0, 100, 0.05, 0.8) is None


# --------------------------------------------------------------------------- verdicts


def test_winner_verdict_text() -> None:
    # 100/1000 vs 130/1000: +3.0 pp, +30 %; Wald SE √(0.09/1000 + 0.1131/1000) = 0.0142513,
    # CI 0.03 ± 0.027932 = +0.2 to +5.8 pp; z = 0.03/√(0.115·0.885·0.002) = 2.1027, p = 0.035.
    result = analyze_experiment("e", [variant("A", 1000, 100), variant("B", 1000, 130)])
    assert result.verdict_kind == "winner"
    assert verdict_text(result) == "B beats A: +3.0 pp (+30 %, 95 % CI +0.2 to +5.8 pp), p = 0.035"


def test_loser_verdict_text() -> None:
    result = analyze_experiment("e", [variant("A", 1000, 130), variant("B", 1000, 100)])
    assert result.verdict_kind == "loser"
    # relative: 0.100/0.130 − 1 = −23.1 %
    assert verdict_text(result) == (
        "B is worse than A: -3.0 pp (-23 %, 95 % CI -5.8 to -0.2 pp), p = 0.035"
    )


def test_no_difference_verdict_and_alpha_sets_level() -> None:
    pair = [variant("A", 1000, 100), variant("B", 1000, 105)]
    result = analyze_experiment("e", pair)
    assert result.verdict_kind == "no_difference"
    assert verdict_text(result).startswith("No detectable difference yet")
    assert "+0.5 pp" in verdict_text(result) and "95 % CI" in verdict_text(result)
    loose = analyze_experiment("e", pair, ExperimentSettings(alpha=0.1))
    assert "90 % CI" in verdict_text(loose)
    assert loose.comparisons[0].abs_ci.level == pytest.approx(0.9)
    # 100 vs 125 of 1000 is significant at α = 0.1 but not at 0.05 (p = 0.0769).
    pair2 = [variant("A", 1000, 100), variant("B", 1000, 125)]
    assert analyze_experiment("e", pair2).verdict_kind == "no_difference"
    assert analyze_experiment("e", pair2, ExperimentSettings(alpha=0.1)).verdict_kind == "winner"


def test_abn_verdict_names_the_best_winner_and_the_others() -> None:
    result = analyze_experiment(
        "e",
        [
            variant("control", 4000, 400),
            variant("B", 4000, 520),
            variant("C", 4000, 480),
            variant("D", 4000, 405),
        ],
    )
    assert result.control == "control" and result.adjustment == HOLM
    assert result.verdict_kind == "winner"
    assert verdict_text(result).startswith("B beats control: +3.0 pp (+30 %, 95 % CI")
    assert "Holm-adjusted p < 0.001" in verdict_text(result)
    assert verdict_text(result).endswith("(also better than control: C)")


def test_srm_overrides_a_significant_winner() -> None:
    pair = [variant("A", 1000, 100), variant("B", 1300, 200)]
    result = analyze_experiment("e", pair)
    assert result.comparisons[0].significant
    assert result.srm.flagged
    assert result.verdict_kind == "srm"
    assert verdict_text(result) == "Sample ratio mismatch — don't trust this result"
    # With the split the experiment was configured for (10:13) there is no mismatch.
    planned = analyze_experiment("e", pair, ExperimentSettings(expected_split={"A": 10, "B": 13}))
    assert not planned.srm.flagged and planned.verdict_kind == "winner"


def test_every_verdict_kind_has_an_icon() -> None:
    kinds = {
        analyze_experiment("e", [variant("A", 1000, 100), variant("B", 1000, 130)]).verdict_kind,
        analyze_experiment("e", [variant("A", 1000, 130), variant("B", 1000, 100)]).verdict_kind,
        analyze_experiment("e", [variant("A", 1000, 100), variant("B", 1000, 101)]).verdict_kind,
        analyze_experiment("e", [variant("A", 1000, 100), variant("B", 1500, 101)]).verdict_kind,
        analyze_experiment("e", [variant("A", 10, 1)]).verdict_kind,
    }
    assert kinds == {"winner", "loser", "no_difference", "srm", "not_testable"}
    assert kinds <= set(VERDICT_ICONS)


# --------------------------------------------------------------------------- degenerate


def assert_no_nan(value: object) -> None:
    """No float anywhere in a result is NaN or infinite (None is how 'unknown' reads)."""
    if isinstance(value, float):
        assert math.isfinite(value), value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            assert_no_nan(getattr(value, f.name))
    elif isinstance(value, dict):
        for v in value.values():
            assert_no_nan(v)
    elif isinstance(value, tuple | list):
        for v in value:
            assert_no_nan(v)
    elif isinstance(value, str):
        assert "nan" not in value.lower().split() and "inf" not in value.lower().split()


def test_variant_without_users() -> None:
    result = analyze_experiment("e", [variant("A", 10, 1), variant("B", 0, 0)])
    assert result.verdict_kind == "not_testable"
    assert verdict_text(result) == "Not enough data: variant B has no users"
    c = result.comparisons[0]
    assert c.message == verdict_text(result) and c.p_value is None and not c.significant
    assert VariantData("B", 0, 0, 0.0, 0.0).conversion_rate == 0.0
    assert_no_nan(result)


@pytest.mark.parametrize(
    ("converters", "fragment"),
    [(0, "nobody in A or B has converted yet (0 %)"), (500, "every user in A and B converted")],
)
def test_zero_or_full_conversion_in_both_arms(converters: int, fragment: str) -> None:
    result = analyze_experiment("e", [variant("A", 500, converters), variant("B", 500, converters)])
    c = result.comparisons[0]
    assert c.z is None and c.p_value is None and c.abs_ci is None and not c.significant
    assert c.abs_lift == 0.0
    assert fragment in (c.message or "")
    assert result.verdict_kind == "not_testable" and verdict_text(result) == c.message
    assert two_proportion_test(converters, 500, converters, 500) is None
    assert_no_nan(result)


def test_single_and_no_variant() -> None:
    one = analyze_experiment("e", [variant("treatment", 100, 5)])
    assert one.control == "treatment" and one.comparisons == ()
    assert one.verdict_kind == "not_testable" and "only one variant" in verdict_text(one)
    none = analyze_experiment("e", [])
    assert none.variants == () and none.verdict_kind == "not_testable"
    assert_no_nan(one)
    assert_no_nan(none)


def test_bad_counts_are_reported_not_raised() -> None:
    result = analyze_experiment("e", [variant("A", 10, 11), variant("B", 10, 1)])
    assert result.verdict_kind == "not_testable"
    assert "more converters than users" in verdict_text(result)
    dup = analyze_experiment("e", [variant("A", 10, 1), variant("A", 10, 2)])
    assert dup.verdict_kind == "not_testable" and "more than once" in verdict_text(dup)


def test_zero_control_rate_leaves_relative_lift_unknown() -> None:
    c = compare(variant("A", 1000, 0), variant("B", 1000, 12), ExperimentSettings())
    assert c.rel_lift is None and c.rel_ci is None and c.mde_abs is None
    assert c.p_value is not None and c.abs_ci is not None
    result = analyze_experiment("e", [variant("A", 1000, 0), variant("B", 1000, 12)])
    assert verdict_text(result) == (
        f"B beats A: +1.2 pp (95 % CI {c.abs_ci.low * 100:+.1f} to "
        f"{c.abs_ci.high * 100:+.1f} pp), p < 0.001"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 60),
            st.integers(0, 60),
            st.floats(0, 1e4, allow_nan=False),
            st.floats(0, 1e6, allow_nan=False),
        ),
        min_size=0,
        max_size=5,
    )
)
def test_never_raises_never_nan(rows: list[tuple[int, int, float, float]]) -> None:
    variants = [VariantData(f"v{i}", n, min(x, n), s, ss) for i, (n, x, s, ss) in enumerate(rows)]
    result = analyze_experiment("e", variants)
    assert_no_nan(result)
    assert verdict_text(result) and result.verdict_kind in VERDICT_ICONS
    for c in result.comparisons:
        assert (c.p_value is None) == (c.message is not None)


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize(
    ("names", "control"),
    [
        (["B", "control", "A"], "control"),
        (["treatment", "Control"], "Control"),
        (["Control", "control"], "control"),  # exact spelling before a case-insensitive match
        (["a", "A", "B"], "A"),
        (["B", "A", "C"], "A"),
        (["b", "a"], "a"),
        (["zeta", "beta", "gamma"], "beta"),
        (["v2", "v1"], "v1"),
    ],
)
def test_control_selection(names: list[str], control: str) -> None:
    assert choose_control(names) == control
    result = analyze_experiment("e", [variant(n, 100, 10) for n in names])
    assert result.control == control
    assert result.variants[0].name == control
    assert {c.control for c in result.comparisons} == {control}
    assert sorted(c.treatment for c in result.comparisons) == sorted(set(names) - {control})


def test_swapping_arms_flips_signs() -> None:
    g = rng(14)
    for _ in range(100):
        n1, n2 = (int(g.integers(5, 5000)) for _ in range(2))
        r1, x1 = revenue_sample(g, n1, float(g.uniform(0.05, 0.5)))
        r2, x2 = revenue_sample(g, n2, float(g.uniform(0.05, 0.5)))
        one, two = variant("A", n1, x1, r1), variant("B", n2, x2, r2)
        fwd = compare(one, two, ExperimentSettings())
        back = compare(two, one, ExperimentSettings())
        assert back.abs_lift == pytest.approx(-fwd.abs_lift)
        assert back.z == pytest.approx(-fwd.z)
        assert back.p_value == pytest.approx(fwd.p_value)
        assert back.abs_ci.low == pytest.approx(-fwd.abs_ci.high)
        assert back.abs_ci.high == pytest.approx(-fwd.abs_ci.low)
        assert back.revenue.diff == pytest.approx(-fwd.revenue.diff)
        assert back.revenue.t == pytest.approx(-fwd.revenue.t)
        assert back.revenue.df == pytest.approx(fwd.revenue.df)
        assert back.revenue.ci.low == pytest.approx(-fwd.revenue.ci.high)
        assert back.users_needed_per_arm == fwd.users_needed_per_arm


def test_intervals_are_consistent_with_their_point_estimates() -> None:
    g = rng(15)
    for _ in range(CASES):
        n_c, n_t = (int(g.integers(30, 20_000)) for _ in range(2))
        x_c, x_t = int(g.integers(1, n_c)), int(g.integers(0, n_t + 1))
        c = compare(variant("A", n_c, x_c), variant("B", n_t, x_t), ExperimentSettings())
        if c.abs_ci is not None:
            assert c.abs_ci.low <= c.abs_lift <= c.abs_ci.high
        if c.rel_ci is not None:
            assert c.rel_ci.low <= c.rel_lift <= c.rel_ci.high
        if c.mde_abs is not None:
            assert c.mde_abs > 0


def test_settings_reject_impossible_values() -> None:
    for bad in ({"alpha": 0}, {"alpha": 1.5}, {"power": 1}, {"srm_threshold": -0.1}):
        with pytest.raises(ValueError):
            ExperimentSettings(**bad)
    assert Interval(0.1, 0.2, 0.95).contains(0.15)
