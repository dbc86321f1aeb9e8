"""A/B test statistics over sufficient statistics (pure: numbers in, frozen dataclasses out).

Every figure follows METRICS.md "Experiments". SQL aggregates each variant to
(users, converters, revenue sum, revenue sum of squares); everything here is computed
from those, as GrowthBook's gbstats does, so no row ever reaches Python.

- Conversion: two-sided two-proportion z-test with the pooled standard error
  (as ``statsmodels.stats.proportion.proportions_ztest``).
- Absolute lift p_T − p_C: Wald interval with the unpooled standard error
  (as ``confint_proportions_2indep(method="wald", compare="diff")``).
- Relative lift p_T / p_C − 1: delta-method interval,
  Var ≈ σ²_C·μ²_T / (μ⁴_C·n_C) + σ²_T / (μ²_C·n_T), σ² = p(1 − p) (as GrowthBook).
- Revenue per user: Welch's unequal-variance t-test, sample variances with n − 1
  (as ``scipy.stats.ttest_ind(equal_var=False)`` on the raw values).
- A/B/n: each treatment vs control, p-values adjusted with Holm–Bonferroni
  (as ``multipletests(method="holm")``) over the comparisons that could be tested.
- SRM: χ² goodness of fit of users per variant against the configured split
  (as ``scipy.stats.chisquare``); flagged when p < the threshold (0.001 by default).
- Power, normal approximation, z_a = z(1 − α/2), z_b = z(power):
  minimum detectable effect (absolute, at the current sample sizes)
      MDE = (z_a + z_b) · √(p_C(1 − p_C) · (1/n_C + 1/n_T)),
  i.e. the variance under both hypotheses is taken at the control rate; users needed per
  arm to detect the observed lift Δ = p_T − p_C with equal arms
      n = ⌈(z_a + z_b)² · (p_C(1 − p_C) + p_T(1 − p_T)) / Δ²⌉
  (unpooled variance at the observed rates). Both ignore the far rejection tail, which
  statsmodels' ``NormalIndPower`` includes; at 80 % power it moves power by < 1e-5.

Degenerate input (a variant without users, 0 % or 100 % conversion in both arms, bad
counts) gives a result whose ``message`` says why no test was possible: never an
exception, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from bot.core import special

if TYPE_CHECKING:  # only for annotations: decision imports this module
    from bot.core.decision import ArmDecision, ExperimentDecision
    from bot.core.plan import ExperimentPlan

HOLM = "Holm–Bonferroni"

# verdict_kind values; bot/render/summary.py VERDICT_ICONS has an icon for each.
WINNER = "winner"
LOSER = "loser"
NO_DIFFERENCE = "no_difference"
SRM = "srm"
NOT_TESTABLE = "not_testable"

# The α a person may ask for (``--alpha``): below 0.01 nothing is ever significant at
# these sample sizes, above 0.2 one "winner" in five is noise.
ALPHA_MIN = 0.01
ALPHA_MAX = 0.2
# Below this many users in either arm no test is run: the normal approximations behind
# every interval here are not to be trusted ("too few users to test").
MIN_USERS_PER_ARM = 100


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    level: float  # confidence level, e.g. 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class VariantData:
    """One variant's sufficient statistics (one row of the ``ab_metrics`` mart)."""

    name: str
    users: int
    converters: int
    revenue_sum: float
    revenue_sum_squares: float
    # CUPED covariate (revenue in the 28 days before first exposure) and its cross
    # products with post-exposure revenue; None when the mart doesn't carry them.
    pre_revenue_sum: float | None = None
    pre_revenue_sum_squares: float | None = None
    revenue_pre_revenue_sum_products: float | None = None

    @property
    def conversion_rate(self) -> float:
        """converters / users; 0.0 (not NaN) for a variant without users."""
        return self.converters / self.users if self.users > 0 else 0.0

    @property
    def revenue_per_user(self) -> float:
        return self.revenue_sum / self.users if self.users > 0 else 0.0

    @property
    def revenue_variance(self) -> float:
        """Sample variance (n − 1) of revenue per user; 0.0 below two users.

        Clamped at 0 because Σx² − (Σx)²/n can come out a hair negative in floating
        point when every user spent the same."""
        if self.users < 2:
            return 0.0
        centred = self.revenue_sum_squares - self.revenue_sum**2 / self.users
        return max(centred, 0.0) / (self.users - 1)

    @property
    def problem(self) -> str | None:
        """Why these counts can't be right, or None."""
        if self.users < 0 or self.converters < 0:
            return f"variant {self.name} has a negative count"
        if self.converters > self.users:
            return f"variant {self.name} has more converters than users"
        if not (math.isfinite(self.revenue_sum) and math.isfinite(self.revenue_sum_squares)):
            return f"variant {self.name} has a non-finite revenue total"
        return None


@dataclass(frozen=True)
class ExperimentSettings:
    alpha: float = 0.05
    srm_threshold: float = 0.001
    power: float = 0.8
    expected_split: Mapping[str, float] | None = None  # variant → weight; None = equal
    # Used by the planned analysis only (analyze_experiment(..., plan=...)).
    min_users_per_arm: int = MIN_USERS_PER_ARM
    sequential_tuning: float = 5000.0  # GrowthBook's default confidence-sequence tuning

    def __post_init__(self) -> None:
        # Settings come from code and the parser, not from data: a bad value is a bug.
        for name in ("alpha", "srm_threshold", "power"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
        if self.min_users_per_arm < 2:
            raise ValueError(f"min_users_per_arm must be at least 2, got {self.min_users_per_arm}")
        if not (math.isfinite(self.sequential_tuning) and self.sequential_tuning > 0):
            raise ValueError(f"sequential_tuning must be positive, got {self.sequential_tuning}")

    @property
    def level(self) -> float:
        return 1 - self.alpha


@dataclass(frozen=True)
class RevenueTest:
    """Welch's t-test of revenue per user, treatment − control."""

    diff: float
    ci: Interval | None
    t: float
    df: float
    p_value: float
    # Planned analysis only: Holm-adjusted p (across treatments) and the verdict's call.
    p_adjusted: float | None = None
    significant: bool | None = None


@dataclass(frozen=True)
class Comparison:
    """One treatment vs the control. Figures that can't be computed are None and
    ``message`` says why (then no test was made and ``significant`` is False)."""

    control: str
    treatment: str
    abs_lift: float | None  # p_T − p_C
    abs_ci: Interval | None
    rel_lift: float | None  # p_T / p_C − 1
    rel_ci: Interval | None
    z: float | None
    p_value: float | None  # unadjusted
    p_adjusted: float | None  # Holm-adjusted in A/B/n, else equal to p_value
    significant: bool  # p_adjusted < alpha
    revenue: RevenueTest | None
    mde_abs: float | None  # minimum detectable absolute lift at the current sizes
    users_needed_per_arm: int | None  # to detect the observed lift at the set power
    message: str | None
    arm: ArmDecision | None = None  # planned analysis only: every metric and the decision


@dataclass(frozen=True)
class SrmCheck:
    chi2: float | None
    p_value: float | None
    flagged: bool
    observed: Mapping[str, int]  # users per variant
    expected: Mapping[str, float]  # expected users per variant under the split
    message: str | None  # why the check couldn't run


@dataclass(frozen=True)
class ExperimentResult:
    experiment_id: str
    control: str
    variants: tuple[VariantData, ...]  # control first, then the treatments by name
    comparisons: tuple[Comparison, ...]
    srm: SrmCheck
    excluded_users: int
    settings: ExperimentSettings
    adjustment: str | None  # "Holm–Bonferroni" when p-values were adjusted
    verdict: Verdict
    decision: ExperimentDecision | None = None  # planned analysis only

    @property
    def verdict_kind(self) -> str:  # winner | loser | no_difference | srm | not_testable
        return self.verdict.kind


# --------------------------------------------------------------------------- basics


def _z_quantile(level: float) -> float:
    """The two-sided critical value for a confidence level, e.g. 1.96 for 0.95."""
    return float(special.ndtri(1 - (1 - level) / 2))


def _valid_counts(x: int, n: int) -> bool:
    return n > 0 and 0 <= x <= n


def proportion_interval(x: int, n: int, level: float) -> Interval | None:
    """Wilson score interval for x successes in n trials (None when n == 0).

    Wilson rather than Wald because it stays inside [0, 1] and is honest at 0 % and
    100 %, which small variants hit."""
    if not _valid_counts(x, n):
        return None
    z = _z_quantile(level)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 % and 100 % the bound is exactly 0 or 1; floating point lands a hair inside.
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return Interval(low, high, level)


def pooled_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """z and two-sided p of p1 − p2 with the pooled standard error, or None when the
    pooled rate is 0 or 1 (no variation, so no test) or a sample is empty."""
    if not (_valid_counts(x1, n1) and _valid_counts(x2, n2)):
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if not variance > 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return z, float(2 * special.ndtr(-abs(z)))


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided pooled two-proportion z-test p-value; None when degenerate."""
    result = pooled_z_test(int(x1), int(n1), int(x2), int(n2))
    return None if result is None else result[1]


def abs_lift_interval(x_t: int, n_t: int, x_c: int, n_c: int, level: float) -> Interval | None:
    """Wald interval for p_T − p_C with the unpooled SE; None when its SE is 0."""
    p_t, p_c = x_t / n_t, x_c / n_c
    variance = p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c
    if not variance > 0:
        return None
    half = _z_quantile(level) * math.sqrt(variance)
    diff = p_t - p_c
    return Interval(diff - half, diff + half, level)


def rel_lift_interval(x_t: int, n_t: int, x_c: int, n_c: int, level: float) -> Interval | None:
    """Delta-method interval for p_T / p_C − 1 (GrowthBook's variance); None when the
    control rate is 0 (the ratio is undefined) or the variance is 0."""
    mu_t, mu_c = x_t / n_t, x_c / n_c
    if mu_c <= 0:
        return None
    var_t, var_c = mu_t * (1 - mu_t), mu_c * (1 - mu_c)
    variance = var_c * mu_t**2 / (mu_c**4 * n_c) + var_t / (mu_c**2 * n_t)
    if not variance > 0:
        return None
    half = _z_quantile(level) * math.sqrt(variance)
    rel = mu_t / mu_c - 1
    return Interval(rel - half, rel + half, level)


def welch_test(treatment: VariantData, control: VariantData, level: float) -> RevenueTest | None:
    """Welch's t-test of revenue per user (treatment − control) from n, Σx, Σx².

    None when an arm has fewer than two users or both variances are 0 (every user in
    both arms spent the same, typically nothing): no test is possible."""
    n_t, n_c = treatment.users, control.users
    if n_t < 2 or n_c < 2:
        return None
    se2_t = treatment.revenue_variance / n_t
    se2_c = control.revenue_variance / n_c
    se2 = se2_t + se2_c
    if not se2 > 0:
        return None
    se = math.sqrt(se2)
    diff = treatment.revenue_per_user - control.revenue_per_user
    t = diff / se
    # Welch–Satterthwaite degrees of freedom, (a + b)² / (a²/(n_t − 1) + b²/(n_c − 1)),
    # written with shares of se² so tiny variances can't underflow to 0 / 0.
    share_t, share_c = se2_t / se2, se2_c / se2
    df = 1 / (share_t**2 / (n_t - 1) + share_c**2 / (n_c - 1))
    p = float(2 * special.stdtr(df, -abs(t)))
    q = float(special.stdtrit(df, 1 - (1 - level) / 2))
    return RevenueTest(diff, Interval(diff - q * se, diff + q * se, level), t, df, p)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order.

    Sorted ascending, the i-th (0-based) of m becomes max over j ≤ i of
    min(1, (m − j)·p_(j)); a hypothesis is rejected at α iff its adjusted p ≤ α."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def minimum_detectable_effect(
    p_c: float, n_c: int, n_t: int, alpha: float, power: float
) -> float | None:
    """Smallest absolute lift a two-sided test at ``alpha`` detects with ``power``
    at these sample sizes: (z_a + z_b)·√(p_C(1 − p_C)(1/n_C + 1/n_T)).
    None when the control rate is 0 or 1 (no variance to scale by) or an arm is empty."""
    if n_c <= 0 or n_t <= 0 or not 0 < p_c < 1:
        return None
    z_sum = _z_quantile(1 - alpha) + float(special.ndtri(power))
    return z_sum * math.sqrt(p_c * (1 - p_c) * (1 / n_c + 1 / n_t))


def users_needed_per_arm(p_c: float, p_t: float, alpha: float, power: float) -> int | None:
    """Users per arm (equal arms) to detect p_T − p_C with a two-sided test at ``alpha``
    with ``power``: ⌈(z_a + z_b)²·(p_C(1 − p_C) + p_T(1 − p_T)) / Δ²⌉.
    None when the lift is 0 (nothing to detect) or neither rate varies."""
    delta = p_t - p_c
    variance = p_c * (1 - p_c) + p_t * (1 - p_t)
    if delta == 0 or not variance > 0:
        return None
    z_sum = _z_quantile(1 - alpha) + float(special.ndtri(power))
    return math.ceil(z_sum**2 * variance / delta**2)


# --------------------------------------------------------------------------- SRM


def srm_check(variants: Sequence[VariantData], settings: ExperimentSettings) -> SrmCheck:
    """χ² goodness of fit of users per variant against the expected split."""
    observed = {v.name: v.users for v in variants}
    split = settings.expected_split
    if split is not None:
        # A variant the split expects but the data lacks had 0 users: that's evidence.
        for name in split:
            observed.setdefault(name, 0)
    weights = dict(split) if split is not None else {name: 1.0 for name in observed}

    def skipped(message: str) -> SrmCheck:
        return SrmCheck(None, None, False, observed, {}, message)

    if len(observed) < 2:
        return skipped("needs at least two variants")
    uncovered = sorted(name for name in observed if name not in weights)
    if uncovered:
        return skipped(f"the expected split doesn't name variant {', '.join(uncovered)}")
    if any(not (math.isfinite(w) and w > 0) for w in weights.values()):
        return skipped("the expected split needs a positive weight for every variant")
    if any(n < 0 for n in observed.values()):
        return skipped("a variant has a negative user count")
    total = sum(observed.values())
    if total == 0:
        return skipped("no users yet")
    weight_sum = sum(weights.values())
    expected = {name: total * weights[name] / weight_sum for name in observed}
    chi2 = sum((observed[k] - expected[k]) ** 2 / expected[k] for k in observed)
    p = float(special.chdtrc(len(observed) - 1, chi2))
    return SrmCheck(chi2, p, p < settings.srm_threshold, observed, expected, None)


# --------------------------------------------------------------------------- comparisons


def choose_control(names: Sequence[str]) -> str:
    """``control``, else ``A`` (either in any case, exact spelling first), else the
    alphabetically first name."""
    for wanted in ("control", "A"):
        if wanted in names:
            return wanted
        matches = sorted(n for n in names if n.lower() == wanted.lower())
        if matches:
            return matches[0]
    return sorted(names)[0]


def _untestable(control: str, treatment: str, message: str, **figures) -> Comparison:
    base = dict(
        abs_lift=None,
        abs_ci=None,
        rel_lift=None,
        rel_ci=None,
        z=None,
        p_value=None,
        p_adjusted=None,
        significant=False,
        revenue=None,
        mde_abs=None,
        users_needed_per_arm=None,
    )
    base.update(figures)
    return Comparison(control=control, treatment=treatment, message=message, **base)


def compare(
    control: VariantData, treatment: VariantData, settings: ExperimentSettings
) -> Comparison:
    """Treatment vs control, unadjusted (``p_adjusted`` = ``p_value``)."""
    c, t = control, treatment
    for v in (c, t):
        if v.problem:
            return _untestable(c.name, t.name, f"Invalid data: {v.problem}")
    for v in (c, t):
        if v.users == 0:
            return _untestable(c.name, t.name, f"Not enough data: variant {v.name} has no users")
    level = settings.level
    p_c, p_t = c.conversion_rate, t.conversion_rate
    abs_lift = p_t - p_c
    rel_lift = p_t / p_c - 1 if p_c > 0 else None
    revenue = welch_test(t, c, level)
    test = pooled_z_test(t.converters, t.users, c.converters, c.users)
    if test is None:
        # Pooled rate 0 or 1: both arms at 0 % or both at 100 %.
        if c.converters:
            message = f"No test possible: every user in {c.name} and {t.name} converted (100 %)"
        else:
            message = f"No test possible: nobody in {c.name} or {t.name} has converted yet (0 %)"
        return _untestable(
            c.name, t.name, message, abs_lift=abs_lift, rel_lift=rel_lift, revenue=revenue
        )
    z, p = test
    return Comparison(
        control=c.name,
        treatment=t.name,
        abs_lift=abs_lift,
        abs_ci=abs_lift_interval(t.converters, t.users, c.converters, c.users, level),
        rel_lift=rel_lift,
        rel_ci=rel_lift_interval(t.converters, t.users, c.converters, c.users, level),
        z=z,
        p_value=p,
        p_adjusted=p,
        significant=p < settings.alpha,
        revenue=revenue,
        mde_abs=minimum_detectable_effect(p_c, c.users, t.users, settings.alpha, settings.power),
        users_needed_per_arm=users_needed_per_arm(p_c, p_t, settings.alpha, settings.power),
        message=None,
    )


def _adjust(comparisons: list[Comparison], alpha: float) -> tuple[list[Comparison], str | None]:
    """Holm–Bonferroni over the comparisons that were tested (untestable ones are not
    hypotheses). With one test the adjustment is the identity and isn't claimed."""
    tested = [i for i, c in enumerate(comparisons) if c.p_value is not None]
    if len(tested) < 2:
        return comparisons, None
    adjusted = holm_adjust([comparisons[i].p_value for i in tested])  # type: ignore[misc]
    out = list(comparisons)
    for i, p_adj in zip(tested, adjusted, strict=True):
        out[i] = replace(out[i], p_adjusted=p_adj, significant=p_adj < alpha)
    return out, HOLM


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Verdict:
    """What the result says, as data; ``bot.render.verdicts`` writes it in words.

    ``subject`` is the comparison the headline is about (the best winner, the worst
    loser, the only comparison, or the lowest p-value); ``others`` the treatments with
    the same outcome; ``message`` why nothing could be tested."""

    kind: str  # winner | loser | no_difference | srm | not_testable
    subject: Comparison | None = None
    others: tuple[str, ...] = ()
    adjusted: bool = False
    message: str | None = None


def verdict(
    comparisons: Sequence[Comparison],
    srm: SrmCheck,
    adjustment: str | None,
) -> Verdict:
    """SRM overrides everything: if assignment is broken no difference between the arms
    can be trusted."""
    if srm.flagged:
        return Verdict(SRM)
    if not comparisons:
        return Verdict(
            NOT_TESTABLE, message="Not enough data: an experiment needs at least two variants"
        )
    tested = [c for c in comparisons if c.p_value is not None]
    if not tested:
        messages = list(dict.fromkeys(c.message or "" for c in comparisons))
        return Verdict(NOT_TESTABLE, message="; ".join(m for m in messages if m))
    adjusted = adjustment is not None
    winners = sorted(
        (c for c in tested if c.significant and (c.abs_lift or 0) > 0),
        key=lambda c: -(c.abs_lift or 0),
    )
    if winners:
        return Verdict(WINNER, winners[0], tuple(c.treatment for c in winners[1:]), adjusted)
    losers = sorted(
        (c for c in tested if c.significant and (c.abs_lift or 0) < 0),
        key=lambda c: c.abs_lift or 0,
    )
    if losers:
        return Verdict(LOSER, losers[0], tuple(c.treatment for c in losers[1:]), adjusted)
    if len(comparisons) == 1:
        return Verdict(NO_DIFFERENCE, comparisons[0], (), adjusted)
    lowest = min(tested, key=lambda c: 1.0 if c.p_adjusted is None else c.p_adjusted)
    others = tuple(c.treatment for c in tested if c is not lowest)
    return Verdict(NO_DIFFERENCE, lowest, others, adjusted)


# --------------------------------------------------------------------------- entry point


def analyze_experiment(
    experiment_id: str,
    variants: Sequence[VariantData],
    settings: ExperimentSettings | None = None,
    excluded_users: int = 0,
    *,
    plan: ExperimentPlan | None = None,
    as_of: date | None = None,
) -> ExperimentResult:
    """Everything METRICS.md asks of one experiment, from per-variant sufficient stats.

    Without ``plan``, today's analysis. With a plan (``bot.core.plan.default_plan`` for
    an experiment without a registry entry) the planned analysis of
    ``bot.core.decision``: SRM against the planned split, sequential intervals until the
    planned end (``as_of`` = the data's last day), one decision across the primary and
    guardrail metrics, CUPED when the variants carry the covariate."""
    if plan is not None:
        # Imported here: decision builds on this module's dataclasses.
        from bot.core.decision import analyze_planned

        return analyze_planned(experiment_id, variants, plan, settings, excluded_users, as_of)
    settings = settings or ExperimentSettings()
    names = [v.name for v in variants]
    if not variants:
        return _not_testable(
            experiment_id,
            "",
            (),
            _no_srm("no variants"),
            excluded_users,
            settings,
            "Not enough data: this experiment has no variants yet",
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        message = f"Invalid data: variant {', '.join(duplicates)} appears more than once"
        return _not_testable(
            experiment_id,
            choose_control(names),
            tuple(variants),
            _no_srm(message),
            excluded_users,
            settings,
            message,
        )
    control_name = choose_control(names)
    control = next(v for v in variants if v.name == control_name)
    treatments = sorted((v for v in variants if v.name != control_name), key=lambda v: v.name)
    ordered = (control, *treatments)
    if not treatments:
        return _not_testable(
            experiment_id,
            control_name,
            ordered,
            srm_check(ordered, settings),
            excluded_users,
            settings,
            f"Not enough data: only one variant ({control_name}) so far",
        )
    comparisons, adjustment = _adjust(
        [compare(control, t, settings) for t in treatments], settings.alpha
    )
    srm = srm_check(ordered, settings)
    return ExperimentResult(
        experiment_id,
        control_name,
        ordered,
        tuple(comparisons),
        srm,
        excluded_users,
        settings,
        adjustment,
        verdict(comparisons, srm, adjustment),
    )


def _no_srm(message: str) -> SrmCheck:
    return SrmCheck(None, None, False, {}, {}, message)


def _not_testable(
    experiment_id: str,
    control: str,
    variants: tuple[VariantData, ...],
    srm: SrmCheck,
    excluded_users: int,
    settings: ExperimentSettings,
    message: str,
) -> ExperimentResult:
    return ExperimentResult(
        experiment_id,
        control,
        variants,
        (),
        srm,
        excluded_users,
        settings,
        None,
        Verdict(NOT_TESTABLE, message=message),
    )
