"""The planned analysis of an experiment: one decision across metrics (pure).

``analyze_planned`` is what ``bot.core.stats.analyze_experiment(..., plan=...)`` runs.
Every choice is written down in docs/EXPERIMENTS_METHODS.md; in short:

- SRM: χ² against the plan's split (``stats.srm_check``); a flag overrides everything.
- Fewer than ``settings.min_users_per_arm`` users in an arm: "too few users to test".
- Each metric (conversion, revenue per user) is tested treatment − control with a test and
  an interval built from the same standard error (``bot.core.sequential``): the
  always-valid confidence sequence until the plan's end, the fixed-horizon test after it.
  Conversion: unpooled Wald z; revenue per user: Welch t, or CUPED when the variants carry
  the pre-exposure covariate.
- Per metric, p-values are Holm-adjusted across the treatments; each interval is at its
  Holm step's level, so it excludes 0 exactly when the Holm-adjusted p < α.
- Decision per arm: ship only when the primary metric is significantly better and no
  guardrail is significantly worse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from bot.core import sequential as seq
from bot.core import special
from bot.core.cuped import CovariateStats, CupedEstimate, cuped_estimate
from bot.core.plan import CONVERSION, REVENUE_PER_USER, ExperimentPlan, Progress, progress
from bot.core.stats import (
    ALPHA_MAX,
    ALPHA_MIN,
    HOLM,
    LOSER,
    NO_DIFFERENCE,
    NOT_TESTABLE,
    SRM,
    WINNER,
    Comparison,
    ExperimentResult,
    ExperimentSettings,
    Interval,
    RevenueTest,
    SrmCheck,
    VariantData,
    Verdict,
    analyze_experiment,
    holm_adjust,
)


class DecisionKind(StrEnum):
    SHIP = "ship"  # primary significantly better, no guardrail significantly worse
    HOLD_GUARDRAIL = "hold_guardrail"  # primary better but a guardrail worse: don't ship yet
    WORSE = "worse"  # primary significantly worse
    GUARDRAIL_WORSE = "guardrail_worse"  # primary not different, a guardrail worse
    KEEP_RUNNING = "keep_running"  # nothing significant yet, before the planned end
    NO_DIFFERENCE = "no_difference"  # nothing significant at the fixed horizon
    TOO_FEW_USERS = "too_few_users"
    NOT_TESTABLE = "not_testable"
    SRM = "srm"


# The existing verdict_kind (bot/render/summary.py has an icon for each) of each decision.
VERDICT_KIND = {
    DecisionKind.SHIP: WINNER,
    DecisionKind.HOLD_GUARDRAIL: LOSER,
    DecisionKind.WORSE: LOSER,
    DecisionKind.GUARDRAIL_WORSE: LOSER,
    DecisionKind.KEEP_RUNNING: NO_DIFFERENCE,
    DecisionKind.NO_DIFFERENCE: NO_DIFFERENCE,
    DecisionKind.TOO_FEW_USERS: NOT_TESTABLE,
    DecisionKind.NOT_TESTABLE: NOT_TESTABLE,
    DecisionKind.SRM: SRM,
}
# Experiment-level precedence when arms differ: a shippable arm first, then the warnings.
_PRECEDENCE = (
    DecisionKind.SHIP,
    DecisionKind.HOLD_GUARDRAIL,
    DecisionKind.WORSE,
    DecisionKind.GUARDRAIL_WORSE,
    DecisionKind.KEEP_RUNNING,
    DecisionKind.NO_DIFFERENCE,
    DecisionKind.TOO_FEW_USERS,
    DecisionKind.NOT_TESTABLE,
)


@dataclass(frozen=True)
class MetricResult:
    """One metric of one treatment vs control. ``ci`` and ``rel_ci`` are at the level that
    matches ``p_adjusted`` (clipped to what is possible); ``significant`` is the verdict's
    call: False whenever the verdict says not to trust the data (SRM)."""

    metric: str
    control_value: float  # conversion rate or revenue per user (unadjusted)
    treatment_value: float
    estimate: float | None  # treatment − control (CUPED-adjusted when ``cuped``)
    ci: Interval | None
    rel_estimate: float | None  # estimate / control_value
    rel_ci: Interval | None
    p_value: float | None  # unadjusted (always-valid when method is sequential)
    p_adjusted: float | None  # Holm across treatments; equal to p_value with one
    significant: bool
    method: str | None  # sequential.FIXED | sequential.SEQUENTIAL
    cuped: CupedEstimate | None = None
    message: str | None = None  # why there is no test
    standard_error: float | None = None  # of ``estimate``
    df: float | None = None  # Welch–Satterthwaite, None for a normal reference

    @property
    def direction(self) -> int:
        """+1 significantly better, −1 significantly worse, 0 otherwise (higher is better
        for both metrics)."""
        if not self.significant or self.estimate is None or self.estimate == 0:
            return 0
        return 1 if self.estimate > 0 else -1


@dataclass(frozen=True)
class ArmDecision:
    treatment: str
    kind: DecisionKind
    primary: MetricResult | None  # None when no test ran (too few users, bad data)
    guardrails: tuple[MetricResult, ...]
    worse_guardrails: tuple[str, ...]  # guardrail metrics significantly worse
    mde: float | None  # primary metric's minimum detectable absolute effect (adjusted α)
    users_needed: Mapping[str, int] | None  # per variant, planned split, adjusted α
    message: str | None = None

    @property
    def differs(self) -> bool:
        """Significantly different from control on any metric, better or worse."""
        metrics = ([self.primary] if self.primary else []) + list(self.guardrails)
        return any(m.direction != 0 for m in metrics)


@dataclass(frozen=True)
class ExperimentDecision:
    kind: DecisionKind
    control: str
    arms: tuple[ArmDecision, ...]
    best: str | None  # the arm to ship (largest primary lift among SHIP arms)
    differing: tuple[str, ...]  # every arm significantly different on any metric
    alpha: float
    mde_alpha: float  # α / number of treatments, used for MDE and users needed
    progress: Progress
    plan: ExperimentPlan
    message: str | None = None


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class _Raw:
    control_value: float
    treatment_value: float
    absolute: seq.Estimate | None
    relative: seq.Estimate | None
    cuped: CupedEstimate | None = None
    message: str | None = None


def _relative(
    diff: float,
    var_c: float,
    var_t: float,
    mu_c: float,
    mu_t: float,
    n_c: int,
    n_t: int,
    df: float | None,
) -> seq.Estimate | None:
    """Delta-method estimate of diff / μ_C (GrowthBook's variance); None when μ_C = 0."""
    # mu_c**4 underflows to 0 for a tiny but non-zero control mean: no ratio then either.
    if mu_c == 0 or mu_c**4 * n_c == 0:
        return None
    variance = var_t / (mu_c**2 * n_t) + var_c * mu_t**2 / (mu_c**4 * n_c)
    return seq.Estimate(diff / mu_c, variance, n_c + n_t, df)


def conversion_estimates(control: VariantData, treatment: VariantData) -> _Raw:
    """p_T − p_C with the unpooled variance p(1 − p)/n per arm (normal reference)."""
    c, t = control, treatment
    p_c, p_t = c.conversion_rate, t.conversion_rate
    var_c, var_t = p_c * (1 - p_c), p_t * (1 - p_t)
    variance = var_c / c.users + var_t / t.users
    if not variance > 0:
        if c.converters:
            message = f"No test possible: every user in {c.name} and {t.name} converted (100 %)"
        else:
            message = f"No test possible: nobody in {c.name} or {t.name} has converted yet (0 %)"
        return _Raw(p_c, p_t, None, None, message=message)
    n = c.users + t.users
    absolute = seq.Estimate(p_t - p_c, variance, n)
    relative = _relative(p_t - p_c, var_c, var_t, p_c, p_t, c.users, t.users, None)
    return _Raw(p_c, p_t, absolute, relative)


def covariate_stats(v: VariantData) -> CovariateStats | None:
    if None in (v.pre_revenue_sum, v.pre_revenue_sum_squares, v.revenue_pre_revenue_sum_products):
        return None
    return CovariateStats(
        v.users,
        v.revenue_sum,
        v.revenue_sum_squares,
        float(v.pre_revenue_sum),  # type: ignore[arg-type]
        float(v.pre_revenue_sum_squares),  # type: ignore[arg-type]
        float(v.revenue_pre_revenue_sum_products),  # type: ignore[arg-type]
    )


def revenue_estimates(control: VariantData, treatment: VariantData) -> _Raw:
    """Revenue per user: CUPED when both arms carry the covariate, else Welch."""
    c, t = control, treatment
    mu_c, mu_t = c.revenue_per_user, t.revenue_per_user
    cov_c, cov_t = covariate_stats(c), covariate_stats(t)
    if cov_c is not None and cov_t is not None:
        adjusted = cuped_estimate(cov_c, cov_t)
        if adjusted is not None and adjusted.absolute.variance > 0:
            return _Raw(mu_c, mu_t, adjusted.absolute, adjusted.relative, adjusted)
    var_c, var_t = c.revenue_variance, t.revenue_variance
    df = seq.welch_df(var_c, c.users, var_t, t.users)
    variance = var_c / c.users + var_t / t.users
    if df is None or not variance > 0:
        return _Raw(mu_c, mu_t, None, None, message="No test possible: revenue doesn't vary")
    n = c.users + t.users
    absolute = seq.Estimate(mu_t - mu_c, variance, n, df)
    return _Raw(
        mu_c, mu_t, absolute, _relative(mu_t - mu_c, var_c, var_t, mu_c, mu_t, c.users, t.users, df)
    )


# --------------------------------------------------------------------------- testing


def holm_step_alphas(p_values: Sequence[float], alpha: float) -> list[float]:
    """Per hypothesis, the α' at which its own test is read so that p < α' exactly when its
    Holm-adjusted p < α: α/(m − k) at its step k, frozen at the first step Holm fails."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    stop = next((k for k, i in enumerate(order) if (m - k) * p_values[i] >= alpha), m)
    out = [alpha] * m
    for k, i in enumerate(order):
        out[i] = alpha / (m - min(k, stop))
    return out


def _clip(
    outcome: seq.TestOutcome | None, level: float, low: float, high: float
) -> Interval | None:
    if outcome is None:
        return None
    return Interval(max(low, outcome.low), min(high, outcome.high), level)


def evaluate_metric_family(
    metric: str,
    raws: Sequence[_Raw],
    alpha: float,
    always_valid: bool,
    tuning: float,
) -> list[MetricResult]:
    """Test one metric for every treatment; Holm across the treatments tested."""

    def run(estimate: seq.Estimate | None, level_alpha: float) -> seq.TestOutcome | None:
        if estimate is None:
            return None
        return seq.run(
            estimate, level_alpha, always_valid=always_valid, tuning=tuning, design_alpha=alpha
        )

    first = [run(r.absolute, alpha) for r in raws]
    tested = [i for i, o in enumerate(first) if o is not None]
    p_raw = [first[i].p_value for i in tested]  # type: ignore[union-attr]
    p_adj = holm_adjust(p_raw) if len(tested) > 1 else p_raw
    levels = holm_step_alphas(p_raw, alpha)
    by_index = {i: (p_raw[k], p_adj[k], levels[k]) for k, i in enumerate(tested)}
    abs_bound = 1.0 if metric == CONVERSION else math.inf
    results = []
    for i, raw in enumerate(raws):
        if i not in by_index:
            results.append(
                MetricResult(
                    metric,
                    raw.control_value,
                    raw.treatment_value,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    False,
                    None,
                    raw.cuped,
                    raw.message,
                )
            )
            continue
        p, p_adjusted, level_alpha = by_index[i]
        shown = run(raw.absolute, level_alpha)
        rel_shown = run(raw.relative, level_alpha)
        level = 1 - level_alpha
        results.append(
            MetricResult(
                metric=metric,
                control_value=raw.control_value,
                treatment_value=raw.treatment_value,
                estimate=raw.absolute.value,  # type: ignore[union-attr]
                ci=_clip(shown, level, -abs_bound, abs_bound),
                rel_estimate=None if raw.relative is None else raw.relative.value,
                # A rate or a revenue can't fall by more than 100 %.
                rel_ci=_clip(rel_shown, level, -1.0, math.inf),
                p_value=p,
                p_adjusted=p_adjusted,
                significant=p_adjusted < alpha,
                method=shown.method if shown else None,
                cuped=raw.cuped,
                standard_error=math.sqrt(raw.absolute.variance),  # type: ignore[union-attr]
                df=raw.absolute.df,  # type: ignore[union-attr]
            )
        )
    return results


# --------------------------------------------------------------------------- power


def _z_sum(alpha: float, power: float) -> float:
    return float(special.ndtri(1 - alpha / 2) + special.ndtri(power))


def planned_mde(var_c: float, n_c: float, n_t: float, alpha: float, power: float) -> float | None:
    """(z_{1−α/2} + z_power)·√(σ²_C(1/n_C + 1/n_T)); None without variance or users."""
    if not (var_c > 0 and n_c > 0 and n_t > 0):
        return None
    return _z_sum(alpha, power) * math.sqrt(var_c * (1 / n_c + 1 / n_t))


def planned_users_needed(
    var_c: float,
    var_t: float,
    delta: float,
    ratio: float,
    alpha: float,
    power: float,
    minimum: int,
) -> tuple[int, int] | None:
    """(n_C, n_T) with n_T = ratio·n_C to detect ``delta``:
    n_C = ⌈(z_a + z_b)²(σ²_C + σ²_T/ratio)/Δ²⌉; each at least ``minimum``."""
    if delta == 0 or not (var_c + var_t) > 0 or not ratio > 0:
        return None
    n_c = math.ceil(_z_sum(alpha, power) ** 2 * (var_c + var_t / ratio) / delta**2)
    return max(n_c, minimum), max(math.ceil(ratio * n_c), minimum)


def _unit_variances(metric: str, c: VariantData, t: VariantData) -> tuple[float, float]:
    if metric == CONVERSION:
        p_c, p_t = c.conversion_rate, t.conversion_rate
        return p_c * (1 - p_c), p_t * (1 - p_t)
    return c.revenue_variance, t.revenue_variance


# --------------------------------------------------------------------------- decisions


def _arm_kind(
    primary: MetricResult, guardrails: Sequence[MetricResult], always_valid: bool
) -> DecisionKind:
    worse = any(g.direction < 0 for g in guardrails)
    if primary.direction > 0:
        return DecisionKind.HOLD_GUARDRAIL if worse else DecisionKind.SHIP
    if primary.direction < 0:
        return DecisionKind.WORSE
    if worse:
        return DecisionKind.GUARDRAIL_WORSE
    return DecisionKind.KEEP_RUNNING if always_valid else DecisionKind.NO_DIFFERENCE


@dataclass(frozen=True)
class _Context:
    plan: ExperimentPlan
    settings: ExperimentSettings
    control: VariantData
    names: tuple[str, ...]
    mde_alpha: float
    planned_total: int | None


def _power_figures(
    ctx: _Context, t: VariantData, primary: MetricResult, kind: DecisionKind
) -> tuple[float | None, Mapping[str, int] | None]:
    """MDE and users needed for the planned design at the adjusted α; none when the
    verdict says the data can't be trusted or a guardrail failed."""
    if kind in (DecisionKind.HOLD_GUARDRAIL, DecisionKind.GUARDRAIL_WORSE):
        return None, None
    c, s = ctx.control, ctx.settings
    var_c, var_t = _unit_variances(ctx.plan.primary_metric, c, t)
    share_c = ctx.plan.weight_share(c.name, ctx.names)
    share_t = ctx.plan.weight_share(t.name, ctx.names)
    if ctx.planned_total is not None:
        n_c, n_t = ctx.planned_total * share_c, ctx.planned_total * share_t
    else:
        n_c, n_t = c.users, t.users
    mde = planned_mde(var_c, n_c, n_t, ctx.mde_alpha, s.power)
    needed = None
    if kind in (DecisionKind.KEEP_RUNNING, DecisionKind.NO_DIFFERENCE) and primary.estimate:
        pair = planned_users_needed(
            var_c,
            var_t,
            primary.estimate,
            share_t / share_c,
            ctx.mde_alpha,
            s.power,
            s.min_users_per_arm,
        )
        needed = None if pair is None else {c.name: pair[0], t.name: pair[1]}
    return mde, needed


def _too_few(ctx: _Context, t: VariantData) -> ArmDecision | None:
    small = [v for v in (ctx.control, t) if v.users < ctx.settings.min_users_per_arm]
    if not small:
        return None
    counts = ", ".join(f"{v.name} {v.users:,}" for v in small)
    message = (
        f"Too few users to test: each arm needs at least "
        f"{ctx.settings.min_users_per_arm:,} ({counts})"
    )
    return ArmDecision(t.name, DecisionKind.TOO_FEW_USERS, None, (), (), None, None, message)


def decide_arms(
    ctx: _Context, treatments: Sequence[VariantData], srm: SrmCheck, prog: Progress
) -> list[ArmDecision]:
    s, plan, c = ctx.settings, ctx.plan, ctx.control
    arms: dict[str, ArmDecision] = {}
    for t in treatments:
        problem = c.problem or t.problem
        if problem:
            arms[t.name] = ArmDecision(
                t.name,
                DecisionKind.NOT_TESTABLE,
                None,
                (),
                (),
                None,
                None,
                f"Invalid data: {problem}",
            )
        elif (few := _too_few(ctx, t)) is not None:
            arms[t.name] = few
    testable = [t for t in treatments if t.name not in arms]
    families: dict[str, list[MetricResult]] = {}
    for metric in (plan.primary_metric, *plan.guardrails):
        build = conversion_estimates if metric == CONVERSION else revenue_estimates
        raws = [build(c, t) for t in testable]
        family = evaluate_metric_family(
            metric, raws, s.alpha, prog.always_valid, s.sequential_tuning
        )
        if srm.flagged:  # nothing is significant under a verdict that says "don't trust"
            family = [replace(r, significant=False) for r in family]
        families[metric] = family
    for k, t in enumerate(testable):
        primary = families[plan.primary_metric][k]
        guardrails = tuple(families[g][k] for g in plan.guardrails)
        if srm.flagged:
            kind = DecisionKind.SRM
        elif primary.p_value is None:
            kind = DecisionKind.NOT_TESTABLE
        else:
            kind = _arm_kind(primary, guardrails, prog.always_valid)
        mde, needed = (None, None)
        if kind not in (DecisionKind.SRM, DecisionKind.NOT_TESTABLE):
            mde, needed = _power_figures(ctx, t, primary, kind)
        worse = tuple(g.metric for g in guardrails if g.direction < 0)
        arms[t.name] = ArmDecision(
            t.name,
            kind,
            primary,
            guardrails,
            worse,
            mde,
            needed,
            primary.message if kind == DecisionKind.NOT_TESTABLE else None,
        )
    return [arms[t.name] for t in treatments]


def _experiment_kind(arms: Sequence[ArmDecision], srm: SrmCheck) -> DecisionKind:
    if srm.flagged:
        return DecisionKind.SRM
    kinds = {a.kind for a in arms}
    return next(k for k in _PRECEDENCE if k in kinds)


# --------------------------------------------------------------------------- entry point


def _legacy_comparison(control: str, arm: ArmDecision) -> Comparison:
    """The fields today's renderers read, filled from the planned analysis."""
    conv = next((m for m in (arm.primary, *arm.guardrails) if m and m.metric == CONVERSION), None)
    rev = next(
        (m for m in (arm.primary, *arm.guardrails) if m and m.metric == REVENUE_PER_USER), None
    )
    revenue = None
    if rev is not None and rev.estimate is not None and rev.standard_error:
        revenue = RevenueTest(
            rev.estimate,
            rev.ci,
            rev.estimate / rev.standard_error,
            rev.df if rev.df is not None else math.inf,
            rev.p_value,
            rev.p_adjusted,
            rev.significant,
        )  # type: ignore[arg-type]
    needed = max(arm.users_needed.values()) if arm.users_needed else None
    if conv is None or conv.estimate is None:
        return Comparison(
            control,
            arm.treatment,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            False,
            revenue,
            arm.mde,
            needed,
            arm.message or (conv.message if conv else None),
            arm,
        )
    return Comparison(
        control=control,
        treatment=arm.treatment,
        abs_lift=conv.estimate,
        abs_ci=conv.ci,
        rel_lift=conv.rel_estimate,
        rel_ci=conv.rel_ci,
        # The unpooled Wald statistic (the fixed-horizon test's; the sequential p-value is
        # a function of it and N).
        z=conv.estimate / conv.standard_error if conv.standard_error else None,
        p_value=conv.p_value,
        p_adjusted=conv.p_adjusted,
        significant=conv.significant and arm.kind != DecisionKind.SRM,
        revenue=revenue,
        mde_abs=arm.mde,
        users_needed_per_arm=needed,
        message=arm.message,
        arm=arm,
    )


def analyze_planned(
    experiment_id: str,
    variants: Sequence[VariantData],
    plan: ExperimentPlan,
    settings: ExperimentSettings | None = None,
    excluded_users: int = 0,
    as_of: date | None = None,
) -> ExperimentResult:
    """The planned analysis (see the module docstring); never raises on data."""
    settings = settings or ExperimentSettings()
    if plan.split is not None:
        settings = replace(settings, expected_split=plan.split)
    base = analyze_experiment(experiment_id, variants, settings, excluded_users)
    names = tuple(v.name for v in base.variants)
    users = sum(v.users for v in base.variants)
    prog = progress(plan, as_of, users, max(len(names), 1))

    def finish(
        kind: DecisionKind, message: str | None, arms: Sequence[ArmDecision] = ()
    ) -> ExperimentResult:
        mde_alpha = settings.alpha / max(len(names) - 1, 1)
        decision = ExperimentDecision(
            kind,
            base.control,
            tuple(arms),
            None,
            (),
            settings.alpha,
            mde_alpha,
            prog,
            plan,
            message,
        )
        return replace(
            base,
            comparisons=(),
            adjustment=None,
            verdict=Verdict(VERDICT_KIND[kind], message=message),
            decision=decision,
        )

    if not (ALPHA_MIN <= settings.alpha <= ALPHA_MAX):
        return finish(
            DecisionKind.NOT_TESTABLE,
            f"α must be between {ALPHA_MIN:g} and {ALPHA_MAX:g}; {settings.alpha:g} isn't",
        )
    if plan.problem:
        return finish(DecisionKind.NOT_TESTABLE, f"Registry entry unusable: {plan.problem}")
    if not base.comparisons:  # no variants, one variant or duplicated names: as today
        return finish(DecisionKind.NOT_TESTABLE, base.verdict.message or "")
    if plan.split is not None and base.srm.message:
        # e.g. a variant in the data that the registry's split doesn't name: the registry
        # entry and the exposures disagree, so neither SRM nor the power figures can hold.
        return finish(DecisionKind.NOT_TESTABLE, f"Registry split vs data: {base.srm.message}")
    control = base.variants[0]
    treatments = base.variants[1:]
    m = len(treatments)
    planned_total = (
        plan.planned_users_per_arm * len(names) if plan.planned_users_per_arm is not None else None
    )
    ctx = _Context(plan, settings, control, names, settings.alpha / m, planned_total)
    srm = base.srm  # against the planned split (settings.expected_split)
    arms = decide_arms(ctx, treatments, srm, prog)
    kind = _experiment_kind(arms, srm)
    ships = [a for a in arms if a.kind == DecisionKind.SHIP]
    best = max(ships, key=lambda a: a.primary.estimate or 0).treatment if ships else None  # type: ignore[union-attr]
    differing = tuple(a.treatment for a in arms if a.differs and not srm.flagged)
    message = None
    if kind in (DecisionKind.TOO_FEW_USERS, DecisionKind.NOT_TESTABLE):
        message = "; ".join(dict.fromkeys(a.message or "" for a in arms if a.message))
    decision = ExperimentDecision(
        kind,
        control.name,
        tuple(arms),
        best,
        differing,
        settings.alpha,
        ctx.mde_alpha,
        prog,
        plan,
        message or None,
    )
    comparisons = tuple(_legacy_comparison(control.name, a) for a in arms)
    tested = sum(1 for c in comparisons if c.p_value is not None)
    return ExperimentResult(
        experiment_id,
        control.name,
        base.variants,
        comparisons,
        srm,
        excluded_users,
        settings,
        HOLM if tested > 1 else None,
        # The sentence for people is the render layer's (bot.render.verdicts), written
        # from ``decision``; the verdict carries only why nothing could be tested.
        Verdict(VERDICT_KIND[kind], message=decision.message),
        decision,
    )


__all__ = [
    "ArmDecision",
    "DecisionKind",
    "ExperimentDecision",
    "MetricResult",
    "analyze_planned",
    "holm_step_alphas",
]
