"""bot/core/funnel.py (and the words bot/render/funnel.py writes of it) against
independent references and hand-worked cases (METRICS.md "Funnel").

References: statsmodels' ``proportion_confint(method="wilson")`` for every interval,
``proportions_ztest`` (pooled) for every step test, ``multipletests(method="holm")`` for
the adjustment, ``confint_proportions_2indep(method="wald", compare="diff")`` for the
experiment lifts, ``scipy.stats.chisquare`` for the SRM check. Random funnels come from
seeded numpy generators, so a failure is reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from bot.core.funnel import (
    DIFFERS,
    EXPERIMENT,
    NO_DIFFERENCE,
    NOT_TESTABLE,
    OTHERS,
    SEGMENTS,
    SRM,
    WINDOW,
    FunnelCounts,
    SegmentCounts,
    VariantCounts,
    analyze_experiment_funnel,
    analyze_segments,
    analyze_window,
    summarize,
)
from bot.core.stats import HOLM, ExperimentSettings
from bot.render.funnel import changes_sentence, drop_off_sentence, verdict_sentence

CASES = 200
# multipletests costs ~0.1 s a call here, so the Holm comparisons use fewer cases.
HOLM_CASES = 30


def random_funnel(g: np.random.Generator, scale: float = 1.0) -> FunnelCounts:
    """A closed funnel: each step a binomial draw from the one before."""
    entered = int(np.exp(g.uniform(0, np.log(50_000 * scale))))
    product = int(g.binomial(entered, g.uniform(0.2, 0.9)))
    cart = int(g.binomial(product, g.uniform(0.1, 0.8)))
    purchase = int(g.binomial(cart, g.uniform(0.2, 0.9)))
    return FunnelCounts(entered, product, cart, purchase)


def wilson(x: int, n: int) -> tuple[float, float]:
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    return float(low), float(high)


# --------------------------------------------------------------------------- one funnel


def test_hand_worked_funnel() -> None:
    # 1000 sessions, 600 see a product, 174 add to cart, 87 buy.
    summary = summarize(FunnelCounts(1000, 600, 174, 87))
    assert [s.name for s in summary.steps] == ["sessions", "product", "cart", "purchase"]
    assert [s.count for s in summary.steps] == [1000, 600, 174, 87]
    assert [s.conversion for s in summary.steps] == [None, 0.6, 0.29, 0.5]
    assert [s.of_entered for s in summary.steps] == [1.0, 0.6, 0.174, 0.087]
    assert summary.overall == 0.087
    # The biggest share leaving is product → cart: 71 % of 600 (426 sessions).
    drop = summary.drop_off
    assert (drop.from_step, drop.to_step, drop.lost) == ("product", "cart", 426)
    assert drop.share_leaving == pytest.approx(0.71)
    assert drop_off_sentence(drop) == "most sessions are lost between product and cart: 71 % leave"
    # Wilson at 0.6 of 1000, worked by hand: centre (0.6 + 1.96²/2000) / (1 + 1.96²/1000).
    z = 1.959963984540054
    centre = (0.6 + z * z / 2000) / (1 + z * z / 1000)
    half = z * math.sqrt(0.6 * 0.4 / 1000 + z * z / 4e6) / (1 + z * z / 1000)
    ci = summary.steps[1].conversion_ci
    assert (ci.low, ci.high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert summary.message is None


def test_drop_off_is_the_largest_share_leaving_not_the_largest_count() -> None:
    # sessions → product loses 500 sessions (50 %); cart → purchase loses 90 of 100 (90 %).
    summary = summarize(FunnelCounts(1000, 500, 100, 10))
    assert (summary.drop_off.from_step, summary.drop_off.to_step) == ("cart", "purchase")
    # A tie goes to the earlier transition.
    tie = summarize(FunnelCounts(1000, 500, 250, 125))
    assert (tie.drop_off.from_step, tie.drop_off.to_step) == ("sessions", "product")


def test_intervals_match_statsmodels_wilson() -> None:
    g = np.random.default_rng(11)
    for _ in range(CASES):
        counts = random_funnel(g)
        summary = summarize(counts)
        values = counts.counts
        for i, step in enumerate(summary.steps[1:], start=1):
            if values[i - 1] == 0:
                assert step.conversion is None and step.conversion_ci is None
                continue
            assert step.conversion == pytest.approx(values[i] / values[i - 1], rel=1e-12)
            got = (step.conversion_ci.low, step.conversion_ci.high)
            assert got == pytest.approx(wilson(values[i], values[i - 1]), abs=1e-10)
            assert step.conversion_ci.contains(step.conversion)
        assert (summary.overall_ci.low, summary.overall_ci.high) == pytest.approx(
            wilson(counts.purchase, counts.entered), abs=1e-10
        )


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (FunnelCounts(0, 0, 0, 0), "No sessions in this window"),
        (FunnelCounts(10, 11, 0, 0), "not a closed funnel"),
        (FunnelCounts(10, 5, 6, 0), "not a closed funnel"),
        (FunnelCounts(10, 5, -1, 0), "negative"),
    ],
)
def test_degenerate_funnels_say_why(counts: FunnelCounts, message: str) -> None:
    summary = summarize(counts)
    assert message in summary.message
    assert summary.overall is None and summary.drop_off is None
    report = analyze_window(counts, FunnelCounts(100, 50, 20, 10))
    assert message in report.message and report.changes == ()


def test_nobody_past_a_step_leaves_later_conversions_undefined() -> None:
    summary = summarize(FunnelCounts(50, 0, 0, 0))
    assert [s.conversion for s in summary.steps] == [None, 0.0, None, None]
    assert summary.overall == 0.0
    # Everybody who could leave did at sessions → product; no NaN anywhere.
    assert summary.drop_off.share_leaving == 1.0 and summary.drop_off.to_step == "product"


# --------------------------------------------------------------------------- window


def test_changes_match_statsmodels_ztest_and_holm() -> None:
    g = np.random.default_rng(12)
    for _ in range(HOLM_CASES):
        current, previous = random_funnel(g), random_funnel(g)
        report = analyze_window(current, previous)
        assert report.kind == WINDOW
        if report.message:
            continue
        cur, prev = current.counts, previous.counts
        expected_p, tested = [], []
        for i, change in enumerate(report.changes, start=1):
            n1, n2 = cur[i - 1], prev[i - 1]
            pooled = (cur[i] + prev[i]) / (n1 + n2) if n1 and n2 else 0.0
            if not n1 or not n2 or pooled in (0.0, 1.0):
                assert change.p_value is None and change.message and not change.significant
                continue
            z, p = proportions_ztest([cur[i], prev[i]], [n1, n2])
            assert change.z == pytest.approx(z, rel=1e-9, abs=1e-12)
            assert change.p_value == pytest.approx(p, rel=1e-7, abs=1e-300)
            expected_p.append(p)
            tested.append(change)
        if tested:
            reject, adjusted, _, _ = multipletests(expected_p, alpha=0.05, method="holm")
            for change, p_adj, rej in zip(tested, adjusted, reject, strict=True):
                assert change.p_adjusted == pytest.approx(p_adj, rel=1e-7, abs=1e-300)
                # statsmodels rejects at p_adj <= alpha; we call a change at p_adj < alpha.
                assert change.significant == (p_adj < 0.05)
                if change.significant:
                    assert rej


def test_hand_worked_change_and_sentence() -> None:
    # Only cart → purchase moved: 500/1000 → 600/1000 (z = 4.5, p ≈ 7e-6); the other two
    # steps are identical in both windows (z = 0, p = 1).
    current = FunnelCounts(10_000, 5_000, 1_000, 600)
    previous = FunnelCounts(10_000, 5_000, 1_000, 500)
    report = analyze_window(current, previous)
    by_step = {c.step: c for c in report.changes}
    assert by_step["product"].p_value == pytest.approx(1.0)
    assert by_step["cart"].p_value == pytest.approx(1.0)
    assert by_step["purchase"].z == pytest.approx(0.1 / math.sqrt(0.55 * 0.45 * 2 / 1000))
    # Holm: the smallest of three p-values is multiplied by 3.
    assert by_step["purchase"].p_adjusted == pytest.approx(3 * by_step["purchase"].p_value)
    assert [c.step for c in report.significant_changes] == ["purchase"]
    assert changes_sentence(report) == (
        "Changed against the previous window: cart → purchase 60.0 % "
        "(was 50.0 %, +10.0 pp, Holm-adjusted p < 0.001)"
    )


def test_a_change_significant_only_before_adjustment_is_not_called_a_change() -> None:
    # product → cart: 2060/10000 vs 2000/10000, z ≈ 1.05 (no); cart → purchase at
    # p ≈ 0.03 alone, above 0.05 once multiplied by 2 or 3 (Holm).
    current = FunnelCounts(20_000, 10_000, 2_060, 700)
    previous = FunnelCounts(20_000, 10_000, 2_000, 620)
    report = analyze_window(current, previous)
    purchase = next(c for c in report.changes if c.step == "purchase")
    assert purchase.p_value < 0.05 < purchase.p_adjusted
    assert not purchase.significant
    assert report.significant_changes == ()
    assert changes_sentence(report) == (
        "No step conversion changed significantly against the previous window"
    )


def test_empty_previous_window_gives_no_test_but_the_current_funnel() -> None:
    report = analyze_window(FunnelCounts(100, 50, 20, 10), FunnelCounts(0, 0, 0, 0))
    assert report.current.overall == 0.1
    assert report.changes == ()
    assert report.message == "No sessions in the previous window: nothing to compare with"
    assert changes_sentence(report) is None


def test_an_invalid_previous_window_is_named() -> None:
    report = analyze_window(FunnelCounts(100, 50, 20, 10), FunnelCounts(100, 50, 60, 10))
    assert report.message.startswith("Previous window: Invalid data")
    assert report.changes == () and report.current.overall == 0.1


def test_untestable_steps_are_not_counted_in_holm() -> None:
    # Nobody bought in either window: purchase can't be tested, Holm is over 2 steps.
    current = FunnelCounts(1000, 500, 100, 0)
    previous = FunnelCounts(1000, 400, 100, 0)
    report = analyze_window(current, previous)
    purchase = next(c for c in report.changes if c.step == "purchase")
    assert purchase.p_value is None and "0 % or 100 %" in purchase.message
    tested = [c for c in report.changes if c.p_value is not None]
    _, adjusted, _, _ = multipletests([c.p_value for c in tested], method="holm")
    assert [c.p_adjusted for c in tested] == pytest.approx(list(adjusted))


def test_without_previous_window_there_are_no_changes() -> None:
    report = analyze_window(FunnelCounts(100, 50, 20, 10))
    assert report.previous is None and report.changes == () and report.message is None


# --------------------------------------------------------------------------- segments


def test_segments_top_ten_by_sessions_and_all_others() -> None:
    g = np.random.default_rng(13)
    rows = [SegmentCounts(f"source{i:02d}", random_funnel(g, 0.1)) for i in range(14)]
    rows.append(SegmentCounts("tied_b", FunnelCounts(5000, 10, 5, 1)))
    rows.append(SegmentCounts("tied_a", FunnelCounts(5000, 10, 5, 1)))
    rows.append(SegmentCounts("empty", FunnelCounts(0, 0, 0, 0)))
    report = analyze_segments("traffic_source", rows)
    assert report.kind == SEGMENTS and report.dimension == "traffic_source"
    expected = sorted(
        (r for r in rows if r.counts.entered), key=lambda r: (-r.counts.entered, r.value)
    )
    assert [s.value for s in report.segments[:10]] == [r.value for r in expected[:10]]
    others = report.segments[10]
    assert others.value == OTHERS and others.is_others and len(report.segments) == 11
    assert report.other_values == len(expected) - 10
    rest = expected[10:]
    assert others.summary.counts.counts == tuple(
        sum(r.counts.counts[i] for r in rest) for i in range(4)
    )
    # The segments add up to the total, which is the funnel of all sessions.
    total = report.current.counts
    assert total.counts == tuple(sum(r.counts.counts[i] for r in rows) for i in range(4))
    for segment in report.segments:
        c = segment.summary.counts
        assert segment.summary.overall == pytest.approx(c.purchase / c.entered)
        low, high = wilson(c.purchase, c.entered)
        assert segment.summary.overall_ci.low == pytest.approx(low, abs=1e-10)
        assert segment.summary.overall_ci.high == pytest.approx(high, abs=1e-10)


def test_segments_within_top_have_no_others_row() -> None:
    rows = [SegmentCounts("Chrome", FunnelCounts(10, 5, 2, 1))]
    report = analyze_segments("browser", rows, top=10)
    assert [s.value for s in report.segments] == ["Chrome"] and report.other_values == 0


@pytest.mark.parametrize(
    ("dimension", "rows", "message"),
    [
        ("country", [SegmentCounts("x", FunnelCounts(1, 0, 0, 0))], "Unknown dimension"),
        ("browser", [], "No sessions"),
        ("browser", [SegmentCounts("x", FunnelCounts(0, 0, 0, 0))], "No sessions"),
        ("browser", [SegmentCounts("x", FunnelCounts(1, 2, 0, 0))], "Invalid data"),
        (
            "browser",
            [SegmentCounts("x", FunnelCounts(1, 0, 0, 0))] * 2,
            "appears more than once",
        ),
    ],
)
def test_bad_segment_input_says_why(dimension: str, rows: list, message: str) -> None:
    report = analyze_segments(dimension, rows)
    assert message in report.message and report.segments == ()


# --------------------------------------------------------------------------- experiment


def test_experiment_lifts_match_statsmodels_and_holm_across_steps_and_treatments() -> None:
    g = np.random.default_rng(14)
    for _ in range(HOLM_CASES):
        variants = [VariantCounts(n, random_funnel(g, 0.2)) for n in ("control", "B", "C")]
        report = analyze_experiment_funnel("exp", variants)
        assert report.kind == EXPERIMENT and report.message is None
        exp = report.experiment
        assert exp.control == "control"
        assert [name for name, _ in exp.variants] == ["control", "B", "C"]
        control = variants[0].counts.counts
        pairs, raw_p = [], []
        for verdict, variant in zip(exp.treatments, variants[1:], strict=True):
            assert verdict.treatment == variant.name
            treat = variant.counts.counts
            for i, lift in enumerate(verdict.lifts, start=1):
                c = lift.comparison
                x_t, n_t, x_c, n_c = treat[i], treat[i - 1], control[i], control[i - 1]
                if c.p_value is None:
                    assert not c.significant and c.message
                    continue
                z, p = proportions_ztest([x_t, x_c], [n_t, n_c])
                assert c.z == pytest.approx(z, rel=1e-9, abs=1e-12)
                assert c.p_value == pytest.approx(p, rel=1e-7, abs=1e-300)
                assert c.abs_lift == pytest.approx(x_t / n_t - x_c / n_c, abs=1e-12)
                if c.abs_ci is not None:
                    low, high = confint_proportions_2indep(
                        x_t, n_t, x_c, n_c, method="wald", compare="diff"
                    )
                    assert (c.abs_ci.low, c.abs_ci.high) == pytest.approx((low, high), abs=1e-9)
                pairs.append(lift)
                raw_p.append(p)
        if len(raw_p) >= 2:
            assert exp.adjustment == HOLM
            _, adjusted, _, _ = multipletests(raw_p, method="holm")
            for lift, p_adj in zip(pairs, adjusted, strict=True):
                assert lift.comparison.p_adjusted == pytest.approx(p_adj, rel=1e-7, abs=1e-300)
                assert lift.comparison.significant == (p_adj < 0.05)
        users = [v.counts.entered for v in variants]
        _, p_srm = sps.chisquare(users)
        assert exp.srm.p_value == pytest.approx(p_srm, rel=1e-7, abs=1e-300)


def test_hand_worked_experiment_verdicts() -> None:
    # B: same product and cart conversions, purchase 600/1000 vs 500/1000 (wins there).
    # C: product 4000/10000 vs 5000/10000 (loses there), the rest equal.
    variants = [
        VariantCounts("C", FunnelCounts(10_000, 4_000, 800, 400)),
        VariantCounts("control", FunnelCounts(10_000, 5_000, 1_000, 500)),
        VariantCounts("B", FunnelCounts(10_000, 5_000, 1_000, 600)),
    ]
    exp = analyze_experiment_funnel("pricing", variants).experiment
    assert exp.control == "control" and exp.adjustment == HOLM
    b, c = exp.treatments
    assert (b.treatment, b.wins_at, b.loses_at) == ("B", ("purchase",), ())
    assert (c.treatment, c.wins_at, c.loses_at) == ("C", (), ("product",))
    assert (b.kind, c.kind) == (DIFFERS, DIFFERS)
    b_words, c_words = verdict_sentence(b, exp), verdict_sentence(c, exp)
    assert b_words.startswith("B wins at purchase (purchase +10.0 pp, 95 % CI ")
    assert "Holm-adjusted p < 0.001" in b_words and b_words.endswith("against control")
    assert c_words.startswith("C loses at product (product -10.0 pp")
    assert verdict_sentence(b, exp, detail=False) == "B wins at purchase against control"
    assert not exp.srm.flagged


def test_experiment_with_no_difference_says_so() -> None:
    same = FunnelCounts(2000, 1000, 400, 200)
    exp = analyze_experiment_funnel(
        "aa", [VariantCounts("control", same), VariantCounts("treatment", same)]
    ).experiment
    (verdict,) = exp.treatments
    assert verdict.wins_at == () and verdict.loses_at == ()
    assert verdict.kind == NO_DIFFERENCE
    assert verdict_sentence(verdict, exp) == "treatment does not differ from control at any step"


def test_experiment_srm_overrides_the_verdict() -> None:
    exp = analyze_experiment_funnel(
        "srm",
        [
            VariantCounts("control", FunnelCounts(5000, 2500, 500, 250)),
            VariantCounts("treatment", FunnelCounts(4000, 3000, 1000, 600)),
        ],
    ).experiment
    assert exp.srm.flagged
    assert exp.treatments[0].kind == SRM
    assert verdict_sentence(exp.treatments[0], exp).startswith("Sample ratio mismatch")
    # The step figures are still there for the reader.
    assert exp.treatments[0].wins_at


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([], "No exposed users"),
        ([VariantCounts("A", FunnelCounts(5, 6, 0, 0))], "Invalid data"),
        ([VariantCounts("A", FunnelCounts(5, 1, 0, 0))] * 2, "more than once"),
        ([VariantCounts("A", FunnelCounts(5, 1, 0, 0))], "Only one variant"),
    ],
)
def test_bad_experiment_input_says_why(variants: list, message: str) -> None:
    report = analyze_experiment_funnel("e", variants)
    assert message in report.message


def test_experiment_with_nobody_past_exposure_is_not_testable() -> None:
    exp = analyze_experiment_funnel(
        "new",
        [
            VariantCounts("control", FunnelCounts(10, 0, 0, 0)),
            VariantCounts("treatment", FunnelCounts(10, 0, 0, 0)),
        ],
    ).experiment
    (verdict,) = exp.treatments
    assert verdict.kind == NOT_TESTABLE
    assert verdict_sentence(verdict, exp).startswith("treatment vs control: no test possible")
    assert exp.adjustment is None


def test_alpha_setting_is_used() -> None:
    # purchase: 540/1000 vs 500/1000, p ≈ 0.074 (alone): not at 0.05, yes at 0.1.
    current = FunnelCounts(1000, 1000, 1000, 540)
    previous = FunnelCounts(1000, 1000, 1000, 500)
    strict = analyze_window(current, previous)
    loose = analyze_window(current, previous, ExperimentSettings(alpha=0.1))
    assert strict.significant_changes == ()
    assert [c.step for c in loose.significant_changes] == ["purchase"]
    assert loose.level == pytest.approx(0.9)


def test_the_funnel_core_is_pure() -> None:
    """bot/core/funnel.py imports only the standard library and bot.core (no warehouse,
    Slack, pandas or environment), as docs/ARCHITECTURE.md asks of bot/core."""
    import ast
    import sys
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "bot" / "core" / "funnel.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    outside = {
        m
        for m in modules
        if not m.startswith("bot.core") and m.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set()
    assert "os" not in modules and "environ" not in source.read_text(encoding="utf-8")
