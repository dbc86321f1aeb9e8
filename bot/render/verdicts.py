"""An experiment's verdict in words (``bot.core.stats.Verdict`` is the data).

One sentence a person can act on: who beats whom, by how much, with the interval and
the (adjusted) p-value; or why no result can be trusted or tested yet. A result of the
planned analysis (``result.decision``, ``bot.core.decision``) is written from its decision:
the same sentence wherever it is shown (``/kpi ab``, the digest, ``--json``).
"""

from __future__ import annotations

from bot.core import format as fmt
from bot.core.decision import ArmDecision, DecisionKind, ExperimentDecision, MetricResult
from bot.core.plan import CONVERSION, REVENUE_PER_USER
from bot.core.stats import (
    LOSER,
    NO_DIFFERENCE,
    NOT_TESTABLE,
    SRM,
    WINNER,
    Comparison,
    ExperimentResult,
)

SRM_TEXT = "Sample ratio mismatch — don't trust this result"


def verdict_text(result: ExperimentResult) -> str:
    if result.decision is not None:
        return planned_verdict_text(result.decision)
    v = result.verdict
    if v.kind == SRM:
        return SRM_TEXT
    if v.kind == NOT_TESTABLE or v.subject is None:
        return v.message or "Not enough data to test"
    c, control = v.subject, result.control
    if v.kind == WINNER:
        text = f"{c.treatment} beats {control}: {_effect(c)}, {_p_text(c, v.adjusted)}"
        also = f" (also better than {control}: {', '.join(v.others)})"
        return text + (also if v.others else "")
    if v.kind == LOSER:
        text = f"{c.treatment} is worse than {control}: {_effect(c)}, {_p_text(c, v.adjusted)}"
        return text + (f" (also worse: {', '.join(v.others)})" if v.others else "")
    assert v.kind == NO_DIFFERENCE
    if len(result.comparisons) == 1:
        return (
            f"No detectable difference yet: {c.treatment} vs {control} {_effect(c)}, "
            f"{_p(c.p_value)}"
        )
    return (
        f"No detectable difference yet between any variant and {control} "
        f"(lowest: {c.treatment}, {_p_text(c, v.adjusted)})"
    )


def _p(p: float | None) -> str:
    return "p n/a" if p is None else fmt.p_value(p)


def _level(level: float) -> str:
    return f"{level * 100:g} %"


def _effect(c: Comparison) -> str:
    """'+1.8 pp (+12 %, 95 % CI +0.6 to +3.0 pp)' with what is available."""
    inner = []
    if c.rel_lift is not None:
        rel = c.rel_lift * 100
        inner.append(fmt.pct(rel, 0 if abs(rel) >= 10 else 1))
    if c.abs_ci is not None:
        low = fmt.pp(c.abs_ci.low).removesuffix(" pp")
        inner.append(f"{_level(c.abs_ci.level)} CI {low} to {fmt.pp(c.abs_ci.high)}")
    text = fmt.pp(c.abs_lift)
    return f"{text} ({', '.join(inner)})" if inner else text


def _p_text(c: Comparison, adjusted: bool) -> str:
    p = _p(c.p_adjusted)
    return f"Holm-adjusted {p}" if adjusted else p


# --------------------------------------------------------------------------- planned analysis

METRIC_LABELS = {CONVERSION: "conversion", REVENUE_PER_USER: "revenue per user"}
METHOD_LABELS = {True: "always-valid (sequential)", False: "fixed horizon"}


def planned_verdict_text(decision: ExperimentDecision) -> str:
    """The planned analysis's sentence, from ``bot.core.decision.ExperimentDecision``:
    every treatment's outcome (every arm that differs, better or worse, is named), the
    effect with the interval its verdict was read from, the confidence level and method."""
    d = decision
    if d.kind == DecisionKind.SRM:
        against = "the planned" if d.plan.split is not None else "an equal"
        return f"Sample ratio mismatch against {against} split — don't trust this result"
    if d.message:
        return d.message
    sentences = _arm_sentences(d)
    return "; ".join(sentences) + f" ({confidence_note(d)})"


def confidence_note(decision: ExperimentDecision) -> str:
    """'95 % confidence, α = 0.05, fixed horizon'."""
    level = fmt_level(1 - decision.alpha)
    return f"{level} confidence, α = {decision.alpha:g}, {method_label(decision)}"


def method_label(decision: ExperimentDecision) -> str:
    return METHOD_LABELS[decision.progress.always_valid]


def fmt_level(level: float) -> str:
    """0.95 → '95 %', 0.975 → '97.5 %'."""
    return f"{round(level * 100, 4):g} %"


def _arm_sentences(d: ExperimentDecision) -> list[str]:
    """One sentence per arm that differs or can't be tested; the arms with the same
    "nothing yet" outcome share one sentence."""
    out: list[str] = []
    quiet: dict[DecisionKind, list[ArmDecision]] = {}
    for a in d.arms:
        if a.kind in (DecisionKind.KEEP_RUNNING, DecisionKind.NO_DIFFERENCE) and not a.differs:
            quiet.setdefault(a.kind, []).append(a)
        else:
            out.append(_arm_sentence(a, d.control))
    for kind, arms in quiet.items():
        out.append(_quiet_sentence(kind, arms, d.control))
    return list(dict.fromkeys(out))


def _quiet_sentence(kind: DecisionKind, arms: list[ArmDecision], control: str) -> str:
    primary = arms[0].primary
    label = METRIC_LABELS[primary.metric] if primary else "the primary metric"
    if len(arms) == 1:
        detail = f": {arms[0].treatment} vs {control} {metric_effect(primary)}" if primary else ""
    else:
        detail = f" between {', '.join(a.treatment for a in arms)} and {control}"
    if kind == DecisionKind.KEEP_RUNNING:
        return f"No difference on {label} yet, keep running{detail}"
    return f"No detectable difference on {label}{detail}"


def _arm_sentence(a: ArmDecision, control: str) -> str:
    p = a.primary
    primary = METRIC_LABELS[p.metric] if p else ""
    worse = [g for g in a.guardrails if g.direction < 0]
    better = [g for g in a.guardrails if g.direction > 0]
    worse_names = " and ".join(METRIC_LABELS[g.metric] for g in worse)
    k = a.kind
    if k == DecisionKind.SHIP:
        text = f"{a.treatment} beats {control} on {primary}: {metric_effect(p)}"
    elif k == DecisionKind.HOLD_GUARDRAIL:
        text = (
            f"{a.treatment}: {primary} up but {worse_names} down — don't ship yet "
            f"({_named_effects([p, *worse])})"
        )
    elif k == DecisionKind.WORSE:
        text = f"{a.treatment} is worse than {control} on {primary}: {metric_effect(p)}"
    elif k == DecisionKind.GUARDRAIL_WORSE:
        text = (
            f"{a.treatment}: {worse_names} down, {primary} not different — don't ship "
            f"({_named_effects([*worse, p])})"
        )
    elif k == DecisionKind.KEEP_RUNNING:
        text = f"{a.treatment}: no difference on {primary} yet — keep running ({metric_effect(p)})"
    elif k == DecisionKind.NO_DIFFERENCE:
        text = f"{a.treatment}: no detectable difference on {primary} ({metric_effect(p)})"
    else:
        return f"{a.treatment}: {a.message or 'no test'}"
    for g in better:  # every metric that differs is named, better or worse
        text += f"; {METRIC_LABELS[g.metric]} better: {metric_effect(g)}"
    return text


def _named_effects(metrics: list[MetricResult | None]) -> str:
    return "; ".join(f"{METRIC_LABELS[m.metric]} {metric_effect(m)}" for m in metrics if m)


def metric_effect(m: MetricResult | None) -> str:
    """'+1.8 pp (+12 %, 97.5 % CI +0.6 to +3.0 pp), Holm-adjusted p = 0.004'; the interval
    is the one the verdict was read from (its level matches the adjusted p)."""
    if m is None:
        return "no test"
    if m.estimate is None:
        return m.message or "no test"
    inner = []
    if m.rel_estimate is not None:
        rel_bounds = (m.rel_ci.low, m.rel_ci.high) if relative_interval_agrees(m) else ()
        inner.append(fmt.pct_auto(m.rel_estimate, *rel_bounds))
    if m.ci is not None:
        inner.append(f"{fmt_level(m.ci.level)} CI {interval_text(m)}")
    if m.cuped is not None and m.cuped.theta != 0:
        inner.append("CUPED")
    text = estimate_text(m)
    return f"{text} ({', '.join(inner)}), {p_text(m)}" if inner else f"{text}, {p_text(m)}"


def _digits(m: MetricResult) -> int:
    bounds = (m.ci.low, m.ci.high) if m.ci else ()
    if m.metric == CONVERSION:
        return fmt.decimals_for((m.estimate, *bounds))
    return fmt.decimals_for((m.estimate, *bounds), scale=1, minimum=2)


def _money(value: float, digits: int) -> str:
    sign = "+" if value >= 0 else "-"
    return f"{sign}${abs(value):,.{digits}f}"


def estimate_text(m: MetricResult) -> str:
    """The absolute difference: '+1.8 pp' for conversion, '+$0.52' for revenue per user."""
    return "n/a" if m.estimate is None else estimate_text_of(m, m.estimate)


def estimate_text_of(m: MetricResult, value: float) -> str:
    """``value``, a difference in ``m``'s metric, with the decimals ``m`` is shown with."""
    digits = _digits(m)
    return fmt.pp(value, digits) if m.metric == CONVERSION else _money(value, digits)


def interval_text(m: MetricResult) -> str:
    """'+0.6 to +3.0 pp' / '−$1.20 to +$0.40' (the absolute interval), or 'n/a'."""
    if m.ci is None:
        return "n/a"
    digits = _digits(m)
    if m.metric == CONVERSION:
        return f"{fmt.pp(m.ci.low, digits).removesuffix(' pp')} to {fmt.pp(m.ci.high, digits)}"
    return f"{_money(m.ci.low, digits)} to {_money(m.ci.high, digits)}"


def p_text(m: MetricResult) -> str:
    """The p-value the verdict was read from: Holm-adjusted when it was adjusted."""
    adjusted = m.p_adjusted is not None and m.p_adjusted != m.p_value
    p = fmt.p_value(m.p_adjusted)
    return f"Holm-adjusted {p}" if adjusted else p


def relative_interval_agrees(m: MetricResult) -> bool:
    """Does the relative interval say what the test of the difference says (0 inside it
    exactly when the difference isn't significant)? The verdict is read on the absolute
    difference; the ratio's delta-method interval has another standard error and may, at
    the margin, disagree: then it isn't shown next to the verdict (the JSON keeps it)."""
    if m.rel_ci is None or m.ci is None:
        return False
    return m.rel_ci.contains(0.0) == m.ci.contains(0.0)
