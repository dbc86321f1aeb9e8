"""How `/kpi ab` shows the planned analysis (issue #17): the verdict sentence, the method and
progress, the plan or the defaults, per-arm metrics, CUPED, the power notes and `--json`.

Answers are built from known sufficient statistics (no warehouse); the figures shown are
checked against independent computations (scipy) and against the decision's own data.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime

import numpy as np
import pytest
from scipy import stats

from bot.answerers.experiments import plan_for
from bot.answers import ExperimentAnswer, Freshness
from bot.core.decision import DecisionKind
from bot.core.plan import CONVERSION, REVENUE_PER_USER, ExperimentPlan, default_plan
from bot.core.questions import ExperimentQuestion
from bot.core.stats import ExperimentSettings, VariantData, analyze_experiment
from bot.kinds import render_text, to_json_dict
from bot.render import charts, summary
from bot.render.verdicts import verdict_text
from bot.warehouse.base import ExperimentInfo

START, END = date(2026, 11, 1), date(2026, 11, 28)
NOW = datetime(2026, 11, 25, 8, 0)


def arm(name: str, users: int, converters: int, rpu: float = 30.0, sd: float = 60.0) -> VariantData:
    total = rpu * users
    squares = (sd**2) * (users - 1) + total**2 / users
    return VariantData(name, users, converters, total, squares)


def cuped_arm(name: str, rng: np.random.Generator, users: int, lift: float) -> VariantData:
    """A variant whose post-exposure revenue is correlated with its pre-exposure revenue."""
    pre = rng.gamma(1.0, 30.0, users)
    post = np.maximum(0.0, 0.8 * pre + rng.normal(10 + lift, 20, users))
    return VariantData(
        name,
        users,
        int((post > 0).sum()),
        float(post.sum()),
        float((post**2).sum()),
        float(pre.sum()),
        float((pre**2).sum()),
        float((pre * post).sum()),
    )


def answer_for(
    variants: list[VariantData],
    plan: ExperimentPlan,
    as_of: date | None = None,
    alpha: float = 0.05,
) -> ExperimentAnswer:
    result = analyze_experiment(
        plan.experiment_id, variants, ExperimentSettings(alpha=alpha), plan=plan, as_of=as_of
    )
    info = ExperimentInfo(
        plan.experiment_id, len(variants), sum(v.users for v in variants), 0, None, None
    )
    question = ExperimentQuestion(plan.experiment_id, alpha)
    return ExperimentAnswer(question, info, result, Freshness(NOW, NOW, 36.0))


def running(**changes) -> ExperimentPlan:
    plan = ExperimentPlan(
        "e", start_date=START, planned_end_date=END, registered=True, status="running"
    )
    return dataclasses.replace(plan, **changes)


# --------------------------------------------------------------------------- 1: defaults


def test_an_unregistered_experiment_says_it_uses_the_defaults() -> None:
    answer = answer_for(
        [arm("control", 5_000, 500), arm("treatment", 5_000, 520)], default_plan("e")
    )
    text = render_text(answer)
    assert "No registry entry: analysed with the defaults" in text
    assert "equal split" in text and "fixed horizon" in text
    assert "Method: fixed-horizon test" in text
    data = to_json_dict(answer)["decision"]
    assert data["plan"]["registered"] is False and data["method"] == "fixed_horizon"


def test_a_registered_plan_is_named_with_its_split() -> None:
    plan = running(split={"control": 90, "treatment": 10}, name="Cautious", owner="growth")
    answer = answer_for([arm("control", 9_000, 900), arm("treatment", 1_000, 100)], plan, START)
    text = render_text(answer)
    assert "Plan (registry)" in text and "split control 90 / treatment 10" in text
    assert "(Cautious)" in text and "No registry entry" not in text
    assert "Sample-ratio check passed" in text and "against the planned split" in text


def test_an_unreadable_registry_row_is_said_not_replaced_by_defaults() -> None:
    plan = plan_for("e", {"experiment_id": "e", "planned_split": "control=abc"})
    answer = answer_for([arm("control", 5_000, 500), arm("treatment", 5_000, 520)], plan)
    assert answer.result.verdict_kind == "not_testable"
    assert verdict_text(answer.result).startswith("Registry entry unusable: bad planned split")
    assert plan_for("e", None) == default_plan("e")


# --------------------------------------------------------------------------- 3: progress


def test_a_running_experiment_shows_the_sequential_method_and_its_progress() -> None:
    variants = [arm("control", 20_000, 2_000), arm("treatment", 20_000, 2_150)]
    answer = answer_for(variants, running(planned_users_per_arm=32_787), date(2026, 11, 12))
    text = render_text(answer)
    # 40,000 of 65,574 planned users = 61 %.
    assert "day 12 of 28, 61 % of planned users (40,000 of 65,574)" in text
    assert "Method: always-valid (sequential) intervals" in text
    sentence = verdict_text(answer.result)
    assert "keep running" in sentence and "always-valid (sequential)" in sentence
    assert "beats" not in sentence  # fixed-horizon p ≈ 0.001 here: no winner before the bound
    data = to_json_dict(answer)["decision"]
    assert data["method"] == "sequential" and data["progress"]["day"] == 12
    assert data["arms"][0]["primary"]["method"] == "sequential"
    assert data["progress"]["user_share"] == pytest.approx(40_000 / 65_574)


def test_after_the_planned_end_it_says_fixed_horizon() -> None:
    variants = [arm("control", 20_000, 2_000), arm("treatment", 20_000, 2_150)]
    answer = answer_for(variants, running(), END)
    text = render_text(answer)
    assert "Method: fixed-horizon test — the planned end is reached (day 28 of 28)" in text
    assert verdict_text(answer.result).startswith("treatment beats control on conversion")


# --------------------------------------------------------------------------- 4: decision


def test_conversion_up_revenue_down_shows_both_effects_and_no_suggestions() -> None:
    variants = [arm("control", 20_000, 2_000, 30.0, 60.0), arm("treatment", 20_000, 2_300, 27, 55)]
    answer = answer_for(variants, default_plan("e"))
    sentence = verdict_text(answer.result)
    assert "treatment: conversion up but revenue per user down — don't ship yet" in sentence
    assert "conversion +1.5 pp" in sentence and "revenue per user -$3.00" in sentence
    text = render_text(answer)
    assert "minimum detectable effect" not in text and "needs ~" not in text


def test_a_guardrail_that_is_better_is_named_in_the_headline() -> None:
    variants = [arm("control", 20_000, 2_000, 30, 60), arm("treatment", 20_000, 2_010, 33, 60)]
    answer = answer_for(variants, default_plan("e"))
    sentence = verdict_text(answer.result)
    assert answer.result.decision.kind == DecisionKind.NO_DIFFERENCE
    assert "treatment: no detectable difference on conversion" in sentence
    assert "; revenue per user better: +$3.00" in sentence
    assert answer.result.decision.differing == ("treatment",)


def test_abn_headline_names_every_arm_that_differs() -> None:
    variants = [
        arm("control", 20_000, 2_000),
        arm("B", 20_000, 2_300),
        arm("C", 20_000, 1_700),
        arm("D", 20_000, 2_010),
    ]
    answer = answer_for(variants, default_plan("e"))
    sentence = verdict_text(answer.result)
    assert "B beats control on conversion" in sentence
    assert "C is worse than control on conversion" in sentence
    assert "No detectable difference on conversion: D vs control" in sentence
    assert answer.result.verdict_kind == "winner"
    notes = "\n".join(summary.experiment_notes(answer))
    assert "α = 0.0167 (α/3 for 3 treatments)" in notes


# --------------------------------------------------------------------------- 5: verdict ↔ CI

_CI = re.compile(r"(\d+(?:\.\d+)?) % CI ([+-][\d.]+) to ([+-][\d.]+) pp")


@pytest.mark.parametrize("always_valid", [False, True])
def test_the_printed_interval_never_disagrees_with_the_verdict(always_valid: bool) -> None:
    """On random experiments: a "beats"/"worse" sentence prints a conversion interval on
    one side of 0, a no-difference sentence one that straddles 0, after rounding."""
    rng = np.random.default_rng(17 + always_valid)
    plan = running() if always_valid else default_plan("e")
    seen = set()
    for _ in range(300):
        total = int(rng.integers(300, 40_000))
        n_c = int(rng.binomial(total, 0.5))  # an equal split, as planned
        n_t = total - n_c
        p = rng.uniform(0.02, 0.4)
        lift = rng.normal(0, 0.02)
        variants = [
            arm("control", n_c, int(rng.binomial(n_c, p))),
            arm("treatment", n_t, int(rng.binomial(n_t, min(max(p + lift, 0.001), 0.999)))),
        ]
        answer = answer_for(variants, dataclasses.replace(plan, guardrails=()), START)
        sentence = verdict_text(answer.result)
        kind = answer.result.decision.kind
        if kind in (DecisionKind.SRM, DecisionKind.TOO_FEW_USERS):
            continue  # ~1 in 1000 by chance; nothing printed to compare
        seen.add(kind)
        level, low, high = _CI.search(sentence).groups()
        low_v, high_v = float(low), float(high)
        assert float(level) == pytest.approx(95)
        if kind in (DecisionKind.SHIP, DecisionKind.WORSE):
            assert (low_v > 0 and high_v > 0) or (low_v < 0 and high_v < 0), sentence
        else:
            assert low_v <= 0 <= high_v and low.startswith("-"), sentence
        assert "95 % confidence, α = 0.05" in sentence
    assert DecisionKind.SHIP in seen and DecisionKind.WORSE in seen  # both sides exercised


def test_alpha_sets_the_stated_confidence_level() -> None:
    variants = [arm("control", 20_000, 2_000), arm("treatment", 20_000, 2_300)]
    sentence = verdict_text(answer_for(variants, default_plan("e"), alpha=0.1).result)
    assert "90 % confidence, α = 0.1, fixed horizon" in sentence and "90 % CI" in sentence


def test_too_few_users_says_so_without_figures() -> None:
    answer = answer_for([arm("control", 40, 4), arm("treatment", 40, 9)], default_plan("e"))
    assert verdict_text(answer.result).startswith("Too few users to test")
    data = to_json_dict(answer)
    assert data["comparisons"][0]["p_value"] is None
    assert data["decision"]["arms"][0]["users_needed"] is None


# --------------------------------------------------------------------------- 6: CUPED


def test_cuped_line_reports_the_narrowing_against_an_independent_welch_interval() -> None:
    rng = np.random.default_rng(5)
    variants = [cuped_arm("control", rng, 3_000, 0.0), cuped_arm("treatment", rng, 3_000, 1.0)]
    plan = ExperimentPlan("e", primary_metric=REVENUE_PER_USER, guardrails=(CONVERSION,))
    answer = answer_for(variants, plan)
    data = to_json_dict(answer)["decision"]["arms"][0]["primary"]
    cuped = data["cuped"]
    assert cuped["variance_reduction"] > 0.3
    # The unadjusted interval, from scratch: Welch with scipy's t quantile.
    c, t = variants
    var_c = (c.revenue_sum_squares - c.revenue_sum**2 / c.users) / (c.users - 1)
    var_t = (t.revenue_sum_squares - t.revenue_sum**2 / t.users) / (t.users - 1)
    a, b = var_c / c.users, var_t / t.users
    df = (a + b) ** 2 / (a**2 / (c.users - 1) + b**2 / (t.users - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(a + b)
    diff = t.revenue_per_user - c.revenue_per_user
    assert cuped["unadjusted_ci"]["low"] == pytest.approx(diff - half, rel=1e-9)
    assert cuped["unadjusted_ci"]["high"] == pytest.approx(diff + half, rel=1e-9)
    narrowing = 1 - (data["ci"]["high"] - data["ci"]["low"]) / (2 * half)
    assert cuped["interval_narrowing"] == pytest.approx(narrowing, rel=1e-9)
    text = render_text(answer)
    assert (
        f"CUPED (revenue in the 28 days before exposure) narrowed the revenue-per-user "
        f"interval by {narrowing * 100:.0f} %" in text
    )
    assert "CUPED-adjusted (unadjusted" in text


# --------------------------------------------------------------------------- 7: power, JSON


def test_no_power_suggestions_and_nothing_significant_under_srm() -> None:
    variants = [arm("control", 10_000, 1_000, 30), arm("treatment", 12_000, 1_500, 40)]
    answer = answer_for(variants, default_plan("e"))
    data = to_json_dict(answer)
    assert data["verdict_kind"] == "srm" and data["decision"]["kind"] == "srm"
    assert data["comparisons"][0]["significant"] is False
    assert all(not m["significant"] for m in [data["decision"]["arms"][0]["primary"]])
    text = render_text(answer)
    assert "SRM detected" in text and "minimum detectable effect" not in text


def test_mde_note_is_for_the_planned_design_at_the_adjusted_alpha() -> None:
    variants = [arm("control", 2_000, 200), arm("B", 2_000, 205), arm("C", 2_000, 198)]
    answer = answer_for(variants, running(planned_end_date=None, planned_users_per_arm=50_000))
    notes = "\n".join(summary.experiment_notes(answer))
    assert "for the planned 50,000 users per arm" in notes and "α/2 for 2 treatments" in notes
    d = answer.result.decision
    # (z_{1−α/4} + z_0.8)·√(p(1 − p)·2/50,000), α/2 = 0.025 for two treatments.
    p = 0.1
    mde = (stats.norm.ppf(1 - 0.025 / 2) + stats.norm.ppf(0.8)) * math.sqrt(
        p * (1 - p) * 2 / 50_000
    )
    assert d.arms[0].mde == pytest.approx(mde, rel=1e-9)
    assert f"±{mde * 100:.2f} pp" in notes or f"±{mde * 100:.1f} pp" in notes
    data = to_json_dict(answer)["decision"]
    assert data["mde_alpha"] == pytest.approx(0.025)
    assert data["arms"][0]["mde"] == pytest.approx(mde, rel=1e-9)


def test_json_holds_every_metric_shown_and_no_nan() -> None:
    rng = np.random.default_rng(9)
    variants = [cuped_arm("control", rng, 2_000, 0.0), cuped_arm("treatment", rng, 2_000, 3.0)]
    answer = answer_for(variants, running(), date(2026, 11, 10))
    data = to_json_dict(answer)
    arm_json = data["decision"]["arms"][0]
    metrics = [arm_json["primary"], *arm_json["guardrails"]]
    assert [m["metric"] for m in metrics] == [CONVERSION, REVENUE_PER_USER]
    for m in metrics:
        for key in ("estimate", "ci", "rel_estimate", "p_value", "p_adjusted", "significant"):
            assert m[key] is not None, key
    assert data["comparisons"][0]["significant"] == arm_json["primary"]["significant"]
    assert data["verdict"] == verdict_text(answer.result)
    assert "nan" not in repr(data).lower()


def test_the_chart_names_the_decision_and_its_confidence_level() -> None:
    variants = [arm("control", 20_000, 2_000, 30.0, 60.0), arm("treatment", 20_000, 2_300, 27, 55)]
    answer = answer_for(variants, default_plan("e"))
    subtitle = charts.experiment_subtitle(answer.result)
    assert subtitle == (
        "95 % Wilson intervals per variant · don't ship yet (a guardrail is worse) · "
        "95 % confidence, α = 0.05, fixed horizon"
    )
    (chart,) = charts.experiment_answer_chart(answer)
    assert chart.png.startswith(b"\x89PNG")


def test_cuped_words_say_so_when_it_did_not_narrow_the_interval() -> None:
    from bot.render.summary import CupedView, _narrowing_words

    assert _narrowing_words(CupedView(0.5, 0.41, None, 0.23)) == (
        "narrowed the revenue-per-user interval by 23 % (variance −41 %)"
    )
    assert _narrowing_words(CupedView(0.1, -0.01, None, -0.004)) == (
        "left the revenue-per-user interval about as wide (variance +1 %)"
    )
    assert _narrowing_words(CupedView(0.1, -0.05, None, -0.02)) == (
        "widened the revenue-per-user interval by 2 % (variance +5 %)"
    )
