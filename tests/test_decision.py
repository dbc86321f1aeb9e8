"""The planned analysis (analyze_experiment(..., plan=...), bot/core/decision.py): one test
per defect of issue #17, the pairing of verdicts and intervals on random inputs, and the
independent references for the Holm adjustment (statsmodels) and the power figures.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from bot.core import sequential as seq
from bot.core.decision import (
    DecisionKind,
    holm_step_alphas,
    planned_mde,
    revenue_estimates,
)
from bot.core.plan import CONVERSION, REVENUE_PER_USER, ExperimentPlan, default_plan
from bot.core.stats import (
    ExperimentSettings,
    VariantData,
    analyze_experiment,
    holm_adjust,
)
from bot.render.verdicts import verdict_text

START, END = date(2026, 11, 1), date(2026, 11, 28)


def arm(name: str, users: int, converters: int, rpu: float = 0.0, sd: float = 0.0) -> VariantData:
    """A variant with revenue per user ``rpu`` and standard deviation ``sd`` (exact sums)."""
    total = rpu * users
    squares = (sd**2) * (users - 1) + total**2 / users if users else 0.0
    return VariantData(name, users, converters, total, squares)


def running(**changes) -> ExperimentPlan:
    plan = ExperimentPlan("e", start_date=START, planned_end_date=END, registered=True)
    return dataclasses.replace(plan, **changes)


def metric(result, name: str, metric_name: str):
    a = next(a for a in result.decision.arms if a.treatment == name)
    return next(m for m in (a.primary, *a.guardrails) if m and m.metric == metric_name)


# --------------------------------------------------------------------------- 1, 2: plan, SRM


def test_designed_90_10_split_passes_srm_only_against_its_plan() -> None:
    variants = [arm("control", 9_000, 900, 30, 60), arm("treatment", 1_000, 100, 30, 60)]
    planned = analyze_experiment(
        "e", variants, plan=running(split={"control": 90, "treatment": 10})
    )
    assert not planned.srm.flagged and planned.verdict_kind != "srm"
    unplanned = analyze_experiment("e", variants, plan=default_plan("e"))  # equal split
    assert unplanned.srm.flagged and unplanned.decision.kind == DecisionKind.SRM


def test_broken_split_is_flagged_against_the_plan() -> None:
    variants = [arm("control", 8_000, 800, 30, 60), arm("treatment", 2_000, 200, 30, 60)]
    result = analyze_experiment("e", variants, plan=running(split={"control": 9, "treatment": 1}))
    assert result.srm.flagged and result.verdict_kind == "srm"
    assert result.srm.expected == {"control": 9_000, "treatment": 1_000}


def test_under_srm_nothing_is_significant_and_no_users_needed() -> None:
    """The JSON's `significant` follows the verdict: false under "don't trust this"."""
    variants = [arm("control", 10_000, 1_000, 30, 60), arm("treatment", 12_000, 1_500, 40, 60)]
    result = analyze_experiment("e", variants, plan=default_plan("e"))
    assert result.verdict_kind == "srm"
    c = result.comparisons[0]
    assert not c.significant and not c.revenue.significant
    assert c.users_needed_per_arm is None and c.mde_abs is None
    assert result.decision.differing == ()


# --------------------------------------------------------------------------- 3: peeking


def test_running_experiment_uses_the_sequential_test_and_progress() -> None:
    variants = [arm("control", 20_000, 2_000, 30, 60), arm("treatment", 20_000, 2_150, 30, 60)]
    plan = running(planned_users_per_arm=40_000)
    result = analyze_experiment("e", variants, plan=plan, as_of=date(2026, 11, 12))
    progress = result.decision.progress
    assert (progress.day, progress.planned_days) == (12, 28)
    assert progress.planned_users == 80_000 and progress.user_share == pytest.approx(0.5)
    assert progress.always_valid and not progress.finished
    conversion = metric(result, "treatment", CONVERSION)
    assert conversion.method == seq.SEQUENTIAL
    # Fixed-horizon p ≈ 0.001 here: a daily peeker would call a winner; the sequence doesn't.
    fixed = seq.fixed_horizon(
        seq.Estimate(0.0075, 0.1 * 0.9 / 20_000 + 0.1075 * 0.8925 / 20_000, 40_000), 0.05
    )
    assert fixed.p_value < 0.05 < conversion.p_value
    assert result.decision.kind == DecisionKind.KEEP_RUNNING
    assert result.verdict_kind == "no_difference" and "keep running" in verdict_text(result)


def test_after_the_planned_end_the_fixed_horizon_test_is_used() -> None:
    variants = [arm("control", 20_000, 2_000, 30, 60), arm("treatment", 20_000, 2_150, 30, 60)]
    by_date = analyze_experiment("e", variants, plan=running(), as_of=END)
    by_users = analyze_experiment(
        "e", variants, plan=running(planned_end_date=None, planned_users_per_arm=20_000)
    )
    for result in (by_date, by_users):
        assert result.decision.progress.finished
        assert metric(result, "treatment", CONVERSION).method == seq.FIXED
        assert result.decision.kind == DecisionKind.SHIP and result.verdict_kind == "winner"


def test_unregistered_experiment_defaults_to_fixed_horizon_equal_split() -> None:
    plan = default_plan("x")
    assert plan.split is None and not plan.has_planned_end and not plan.registered
    assert (plan.primary_metric, plan.guardrails) == (CONVERSION, (REVENUE_PER_USER,))
    variants = [arm("control", 5_000, 500, 30, 60), arm("treatment", 5_000, 520, 30, 60)]
    result = analyze_experiment("x", variants, plan=plan, as_of=date(2026, 11, 3))
    assert metric(result, "treatment", CONVERSION).method == seq.FIXED


def test_no_winner_in_aa_daily_looks_through_the_full_analysis() -> None:
    """200 A/A experiments looked at daily for 28 days through analyze_experiment while
    running: the share ever declared "ship" stays ≤ α."""
    g = np.random.default_rng(301)
    sims, days, per_day, alpha = 200, 28, 150, 0.05
    plan = running(planned_users_per_arm=per_day * days * 10)  # never finished here
    winners = 0
    for _ in range(sims):
        x_c = np.cumsum(g.binomial(per_day, 0.1, days))
        x_t = np.cumsum(g.binomial(per_day, 0.1, days))
        for d in range(days):
            n = per_day * (d + 1)
            variants = [arm("control", n, int(x_c[d])), arm("treatment", n, int(x_t[d]))]
            result = analyze_experiment(
                "e", variants, plan=dataclasses.replace(plan, guardrails=())
            )
            if result.verdict_kind == "winner":
                winners += 1
                break
    assert winners / sims <= alpha


# --------------------------------------------------------------------------- 4: one decision


def conversion_up_revenue_down() -> list[VariantData]:
    return [arm("control", 20_000, 2_000, 30.0, 60.0), arm("treatment", 20_000, 2_300, 27.0, 55.0)]


def test_conversion_up_revenue_down_is_not_a_ship() -> None:
    result = analyze_experiment("e", conversion_up_revenue_down(), plan=default_plan("e"))
    a = result.decision.arms[0]
    assert a.primary.direction > 0 and a.worse_guardrails == (REVENUE_PER_USER,)
    assert a.kind == DecisionKind.HOLD_GUARDRAIL == result.decision.kind
    assert result.verdict_kind == "loser"
    assert "conversion up but revenue per user down" in verdict_text(result)
    assert "don't ship yet" in verdict_text(result)
    assert a.users_needed is None and a.mde is None  # no suggestions under a failed guardrail


def test_revenue_as_primary_with_conversion_guardrail() -> None:
    plan = running(planned_end_date=None, primary_metric=REVENUE_PER_USER, guardrails=(CONVERSION,))
    variants = [arm("control", 20_000, 2_000, 30.0, 60.0), arm("treatment", 20_000, 1_700, 33, 62)]
    result = analyze_experiment("e", variants, plan=plan)
    assert result.decision.arms[0].kind == DecisionKind.HOLD_GUARDRAIL
    assert "revenue per user up but conversion down" in verdict_text(result)


def test_abn_reports_every_arm_that_differs_better_or_worse() -> None:
    variants = [
        arm("control", 20_000, 2_000, 30, 60),
        arm("B", 20_000, 2_300, 31, 60),
        arm("C", 20_000, 1_700, 29.5, 60),
        arm("D", 20_000, 2_010, 30, 60),
    ]
    result = analyze_experiment("e", variants, plan=default_plan("e"))
    d = result.decision
    assert d.kind == DecisionKind.SHIP and d.best == "B"
    assert set(d.differing) == {"B", "C"}
    kinds = {a.treatment: a.kind for a in d.arms}
    assert kinds == {
        "B": DecisionKind.SHIP,
        "C": DecisionKind.WORSE,
        "D": DecisionKind.NO_DIFFERENCE,
    }
    text = verdict_text(result)
    assert "B beats control" in text and "C is worse than control" in text


def test_revenue_p_values_are_holm_adjusted_like_conversion() -> None:
    variants = [
        arm("control", 5_000, 500, 30, 60),
        arm("B", 5_000, 520, 32.5, 60),
        arm("C", 5_000, 510, 27.8, 60),
    ]
    result = analyze_experiment("e", variants, plan=default_plan("e"))
    for metric_name in (CONVERSION, REVENUE_PER_USER):
        ms = [metric(result, name, metric_name) for name in ("B", "C")]
        raw = [m.p_value for m in ms]
        _, adjusted, _, _ = multipletests(raw, alpha=0.05, method="holm")
        for m, expected in zip(ms, adjusted, strict=True):
            assert m.p_adjusted == pytest.approx(expected, rel=1e-12)
            assert m.significant == (expected < 0.05)
    revenue = result.comparisons[0].revenue
    assert revenue.p_adjusted == pytest.approx(metric(result, "B", REVENUE_PER_USER).p_adjusted)


# --------------------------------------------------------------------------- 5: pairing


def test_holm_step_levels_agree_with_the_adjusted_p() -> None:
    g = np.random.default_rng(302)
    for _ in range(500):
        m = int(g.integers(1, 6))
        p = list(g.choice([g.uniform(0, 0.06, m), g.uniform(0, 1, m)]))
        alpha = float(g.uniform(0.01, 0.2))
        levels = holm_step_alphas(p, alpha)
        adjusted = holm_adjust(p)
        for pi, level, adj in zip(p, levels, adjusted, strict=True):
            assert (pi < level) == (adj < alpha), (p, alpha, levels)


def test_holm_step_levels_hand_worked() -> None:
    # Both rejected: α/2 for the smaller p, α for the larger.
    assert holm_step_alphas([0.01, 0.04], 0.05) == [0.025, 0.05]
    # Holm stops at the first (2 × 0.03 ≥ 0.05): the second is read at that step's α/2,
    # so its 95 % interval (which excludes 0 at p = 0.04) isn't shown beside "no difference".
    assert holm_step_alphas([0.03, 0.04], 0.05) == [0.025, 0.025]
    assert holm_step_alphas([0.2], 0.05) == [0.05]
    assert holm_step_alphas([], 0.05) == []


def random_variants(g: np.random.Generator, arms: int) -> list[VariantData]:
    n = int(np.exp(g.uniform(np.log(100), np.log(100_000))))
    rate = g.uniform(0.02, 0.4)
    out = [arm("control", n, int(g.binomial(n, rate)), 30, 60)]
    for k in range(arms - 1):
        n_t = n  # equal arms: under a flagged SRM nothing is significant, whatever the CI
        r = min(rate * (1 + g.normal(0, 0.15)), 0.99)
        out.append(arm(f"v{k}", n_t, int(g.binomial(n_t, max(r, 0.001))), 30 + g.normal(0, 2), 60))
    return out


@pytest.mark.parametrize("always_valid", [False, True])
def test_verdict_and_interval_never_disagree_on_random_inputs(always_valid: bool) -> None:
    g = np.random.default_rng(303 + always_valid)
    plan = running(planned_end_date=None, planned_users_per_arm=10**9) if always_valid else None
    for _ in range(150):
        variants = random_variants(g, int(g.integers(2, 5)))
        alpha = float(g.uniform(0.01, 0.2))
        settings = ExperimentSettings(alpha=alpha)
        result = analyze_experiment(
            "e", variants, settings, plan=plan or default_plan("e"), as_of=END
        )
        for a in result.decision.arms:
            for m in (a.primary, *a.guardrails):
                if m is None or m.ci is None:
                    continue
                excludes = m.ci.low > 0 or m.ci.high < 0
                assert m.significant == excludes, (variants, alpha, m)
                if m.rel_ci is not None:
                    assert m.rel_ci.low >= -1.0
        for c in result.comparisons:
            if c.abs_ci is not None:
                assert c.significant == (c.abs_ci.low > 0 or c.abs_ci.high < 0)


def test_tiny_samples_say_too_few_users_instead_of_a_p_value() -> None:
    variants = [arm("control", 3, 0), arm("treatment", 3, 3)]
    result = analyze_experiment("e", variants, plan=default_plan("e"))
    assert result.decision.kind == DecisionKind.TOO_FEW_USERS
    assert result.verdict_kind == "not_testable"
    assert "Too few users to test" in verdict_text(result)
    c = result.comparisons[0]
    assert c.p_value is None and c.abs_ci is None and c.users_needed_per_arm is None
    assert not c.significant


def test_intervals_are_clipped_to_what_is_possible() -> None:
    """Allowed to test tiny arms (min 2), the intervals still stay possible."""
    settings = ExperimentSettings(min_users_per_arm=2)
    variants = [arm("control", 4, 1, 5, 8), arm("treatment", 4, 4, 1, 1)]
    result = analyze_experiment("e", variants, settings, plan=default_plan("e"))
    conversion = metric(result, "treatment", CONVERSION)
    assert -1 <= conversion.ci.low <= conversion.ci.high <= 1
    assert conversion.rel_ci.low >= -1
    revenue = metric(result, "treatment", REVENUE_PER_USER)
    assert revenue.rel_ci.low >= -1
    needed = result.decision.arms[0].users_needed
    assert needed is None or min(needed.values()) >= 2


def test_users_needed_never_below_the_minimum_count() -> None:
    variants = [arm("control", 150, 15, 30, 60), arm("treatment", 150, 60, 30, 60)]
    plan = running(planned_end_date=None, planned_users_per_arm=10**6, guardrails=())
    result = analyze_experiment("e", variants, plan=plan)
    a = result.decision.arms[0]
    assert a.kind in (DecisionKind.KEEP_RUNNING, DecisionKind.SHIP)
    if a.users_needed:
        assert min(a.users_needed.values()) >= 100


@pytest.mark.parametrize("alpha", [0.005, 0.3, 0.49])
def test_alpha_outside_001_to_02_is_refused(alpha: float) -> None:
    variants = [arm("control", 5_000, 500), arm("treatment", 5_000, 600)]
    result = analyze_experiment(
        "e", variants, ExperimentSettings(alpha=alpha), plan=default_plan("e")
    )
    assert result.verdict_kind == "not_testable"
    assert "between 0.01 and 0.2" in verdict_text(result)


def test_verdict_says_which_alpha_and_method() -> None:
    variants = [arm("control", 20_000, 2_000, 30, 60), arm("treatment", 20_000, 2_300, 30, 60)]
    result = analyze_experiment(
        "e", variants, ExperimentSettings(alpha=0.1), plan=default_plan("e")
    )
    assert "α = 0.1" in verdict_text(result) and "fixed horizon" in verdict_text(result)
    assert "90 % CI" in verdict_text(result)


def test_a_significant_effect_at_huge_n_never_rounds_to_zero() -> None:
    n = 400_000_000
    variants = [arm("control", n, n // 10), arm("treatment", n, n // 10 + 60_000)]
    result = analyze_experiment("e", variants, plan=running(planned_end_date=None, guardrails=()))
    assert result.decision.kind == DecisionKind.SHIP
    assert "+0.0 pp" not in verdict_text(result) and "+0.0 to" not in verdict_text(result)
    # 60k / 400M = 0.015 pp: the fewest decimals at which nothing shown rounds to 0.
    assert "+0.01 pp" in verdict_text(result) and "CI +0.01 to +0.02 pp" in verdict_text(result)


# --------------------------------------------------------------------------- 7: power


def test_mde_uses_the_adjusted_alpha_and_the_planned_design() -> None:
    """A/B/n with 2 treatments: MDE at α/2 over the planned sizes, checked against
    statsmodels' NormalIndPower (power reached at that effect)."""
    plan = running(planned_end_date=None, planned_users_per_arm=30_000)
    variants = [arm("control", 10_000, 1_000), arm("B", 10_000, 1_010), arm("C", 10_000, 990)]
    result = analyze_experiment("e", variants, plan=dataclasses.replace(plan, guardrails=()))
    a = result.decision.arms[0]
    assert result.decision.mde_alpha == pytest.approx(0.025)
    n = 30_000  # equal split of 3 × 30k planned users
    assert a.mde == pytest.approx(planned_mde(0.09, n, n, 0.025, 0.8))
    effect = a.mde / math.sqrt(0.09)  # standardised at the control variance, as the formula
    reached = NormalIndPower().power(effect, nobs1=n, alpha=0.025, ratio=1)
    assert reached == pytest.approx(0.8, abs=1e-4)


def test_users_needed_for_a_90_10_plan_reach_the_power() -> None:
    plan = running(
        planned_end_date=None,
        planned_users_per_arm=1_000_000,
        split={"control": 90, "treatment": 10},
        guardrails=(),
    )
    variants = [arm("control", 9_000, 900), arm("treatment", 1_000, 110)]
    result = analyze_experiment("e", variants, plan=plan)
    a = result.decision.arms[0]
    assert a.kind == DecisionKind.KEEP_RUNNING
    n_c, n_t = a.users_needed["control"], a.users_needed["treatment"]
    assert n_c / n_t == pytest.approx(9, rel=1e-3)
    var = 0.1 * 0.9 / n_c + 0.11 * 0.89 / n_t
    z = 0.01 / math.sqrt(var) - special.ndtri(0.975)
    assert special.ndtr(z) >= 0.8


# --------------------------------------------------------------------------- compatibility


def test_without_a_plan_the_result_is_todays() -> None:
    variants = [arm("control", 5_000, 500, 30, 60), arm("treatment", 5_000, 600, 31, 60)]
    today = analyze_experiment("e", variants)
    assert today.decision is None and all(c.arm is None for c in today.comparisons)
    assert verdict_text(today).startswith("treatment beats control")


def test_revenue_fixed_horizon_is_welch() -> None:
    c, t = arm("control", 500, 50, 30, 60), arm("treatment", 400, 50, 35, 70)
    raw = revenue_estimates(c, t)
    outcome = seq.fixed_horizon(raw.absolute, 0.05)
    from bot.core.stats import welch_test

    welch = welch_test(t, c, 0.95)
    assert outcome.p_value == pytest.approx(welch.p_value, rel=1e-12)
    assert outcome.low == pytest.approx(welch.ci.low, rel=1e-12)


def test_bad_registry_entry_is_reported_not_raised() -> None:
    variants = [arm("control", 5_000, 500), arm("treatment", 5_000, 600)]
    plan = running(primary_metric="aov")
    result = analyze_experiment("e", variants, plan=plan)
    assert result.verdict_kind == "not_testable"
    assert "unknown primary metric" in verdict_text(result)


def test_decimals_for_keeps_every_nonzero_figure_nonzero() -> None:
    from bot.core import format as fmt

    assert fmt.decimals_for([0.018, 0.006, 0.03]) == 1  # +1.8 pp, +0.6, +3.0
    assert fmt.decimals_for([0.00015, 0.0001, 0.0002]) == 2
    assert fmt.decimals_for([0.0000004]) == 5
    assert fmt.decimals_for([1e-12]) == 6  # capped
    assert fmt.decimals_for([0.0, None, math.nan]) == 1
    assert fmt.pp_auto(0.00015, 0.0001, 0.0002) == "+0.01 pp"
    assert fmt.pct_auto(0.0004) == "+0.04 %"


def test_registry_split_that_does_not_name_a_variant_is_reported() -> None:
    variants = [arm("control", 5_000, 500), arm("B", 5_000, 600)]
    plan = running(split={"control": 50, "treatment": 50})
    result = analyze_experiment("e", variants, plan=plan)
    assert result.verdict_kind == "not_testable"
    assert "Registry split vs data" in verdict_text(result) and "B" in verdict_text(result)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 400),
            st.integers(0, 400),
            st.floats(0, 1e5, allow_nan=False),
            st.floats(0, 1e7, allow_nan=False),
            st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)),
        ),
        min_size=0,
        max_size=4,
    ),
    always_valid=st.booleans(),
    min_users=st.sampled_from([2, 100]),
)
def test_planned_analysis_never_raises_never_shows_nan(rows, always_valid, min_users) -> None:
    variants = [
        VariantData(
            f"v{i}",
            n,
            min(x, n),
            s,
            ss,
            pre,
            None if pre is None else pre * pre,
            None if pre is None else pre * s,
        )
        for i, (n, x, s, ss, pre) in enumerate(rows)
    ]
    plan = running(planned_users_per_arm=10**6) if always_valid else default_plan("e")
    result = analyze_experiment(
        "e", variants, ExperimentSettings(min_users_per_arm=min_users), plan=plan, as_of=END
    )
    assert verdict_text(result) and "nan" not in verdict_text(result).lower()
    assert result.verdict_kind in ("winner", "loser", "no_difference", "srm", "not_testable")
    assert isinstance(result.decision.kind, DecisionKind)
    for a in result.decision.arms:
        for m in (a.primary, *a.guardrails):
            if m is not None and m.p_value is not None:
                assert 0 <= m.p_value <= 1 and 0 <= m.p_adjusted <= 1
                assert m.ci is None or m.ci.low <= m.ci.high
