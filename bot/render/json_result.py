"""The stable machine-readable form of every answer (``python -m bot ask --json``).

Keys are explicit rather than a dump of internal dataclasses, so refactoring the core
doesn't silently change the public JSON.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from bot.answers import (
    Answer,
    DigestCommandAnswer,
    ErrorAnswer,
    ExperimentAnswer,
    ExperimentListAnswer,
    Freshness,
    HelpAnswer,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core.decision import ArmDecision, MetricResult
from bot.core.revenue import Change, PeriodComparison, WindowTotals
from bot.core.sequential import FIXED, SEQUENTIAL
from bot.core.stats import Comparison as ExperimentComparison
from bot.core.stats import ExperimentResult, Interval
from bot.render.summary import cuped_view
from bot.render.verdicts import relative_interval_agrees, verdict_text


def finish_json(answer: Answer, body: dict[str, Any], chart_paths: dict[str, str]) -> dict:
    """The freshness and chart paths every answer carries, after the kind's own keys."""
    freshness = getattr(answer, "freshness", None)
    if freshness is not None:
        body["freshness"] = _freshness(freshness)
    body["charts"] = dict(chart_paths)
    return _clean(body)


def experiment_list_json(answer: ExperimentListAnswer) -> dict[str, Any]:
    return {"kind": "experiments", "experiments": [_info(e) for e in answer.experiments]}


def help_json(answer: HelpAnswer) -> dict[str, Any]:
    return {"kind": "help", "topic": answer.topic}


def digest_command_json(answer: DigestCommandAnswer) -> dict[str, Any]:
    return {"kind": "digest_command", "action": answer.command.action}


def error_json(answer: ErrorAnswer) -> dict[str, Any]:
    return {
        "kind": "error",
        "error": answer.kind,
        "message": answer.message,
        "example": answer.example,
    }


def _clean(value: Any) -> Any:
    """Dates to ISO strings; NaN/inf to null (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _freshness(f: Freshness) -> dict[str, Any]:
    return {"data_as_of": f.data_as_of, "age_hours": f.age_hours, "stale": f.stale}


def _window(t: WindowTotals) -> dict[str, Any]:
    return {
        "label": t.window.label,
        "start": t.window.start,
        "end": t.window.end,
        "days": t.window.days,
        "covered_days": t.covered_days,
        "revenue": t.revenue,
        "orders": t.orders,
        "aov": t.aov,
        "best_day": None if t.best_day is None else vars(t.best_day),
        "worst_day": None if t.worst_day is None else vars(t.worst_day),
        "daily": [
            {"day": r["day"], "orders": int(r["orders"]), "revenue": float(r["revenue"])}
            for r in t.daily.records()
        ],
    }


def _change(c: Change) -> dict[str, Any]:
    return {
        "current": c.current,
        "previous": c.previous,
        "delta": c.delta,
        "delta_pct": c.delta_pct,
    }


def _comparison(c: PeriodComparison) -> dict[str, Any]:
    return {
        "label": c.label,
        "window": _window(c.baseline),
        "revenue": _change(c.revenue),
        "orders": _change(c.orders),
        "aov": _change(c.aov),
    }


def revenue_json(a: RevenueAnswer) -> dict[str, Any]:
    r = a.report
    return {
        "kind": "revenue",
        # What the headline, the chart and the key figures compare with (asked for).
        "compared_with": "previous" if r.last_year is None else "last_year",
        "current": _window(r.current),
        "previous": _comparison(r.previous),
        "last_year": None if r.last_year is None else _comparison(r.last_year),
        "notes": list(r.notes),
    }


def interval_json(i: Interval | None) -> dict[str, Any] | None:
    return None if i is None else {"low": i.low, "high": i.high, "level": i.level}


def _info(e) -> dict[str, Any]:
    return dict(vars(e))


def lift_json(c: ExperimentComparison) -> dict[str, Any]:
    """A two-proportion comparison's lift, intervals and (adjusted) p-value."""
    return {
        "abs_lift": c.abs_lift,
        "abs_ci": interval_json(c.abs_ci),
        "rel_lift": c.rel_lift,
        "rel_ci": interval_json(c.rel_ci),
        "z": c.z,
        "p_value": c.p_value,
        "p_adjusted": c.p_adjusted,
        "significant": c.significant,
    }


def experiment_json(a: ExperimentAnswer) -> dict[str, Any]:
    res = a.result
    return {
        "kind": "experiment",
        "experiment": _info(a.info),
        "alpha": res.settings.alpha,
        "control": res.control,
        "variants": [
            {
                "variant": v.name,
                "users": v.users,
                "converters": v.converters,
                "conversion_rate": v.converters / v.users if v.users else None,
                "revenue_sum": v.revenue_sum,
                "revenue_sum_squares": v.revenue_sum_squares,
                "revenue_per_user": v.revenue_per_user if v.users else None,
                "pre_revenue_sum": v.pre_revenue_sum,
                "pre_revenue_sum_squares": v.pre_revenue_sum_squares,
                "revenue_pre_revenue_sum_products": v.revenue_pre_revenue_sum_products,
            }
            for v in res.variants
        ],
        "comparisons": [
            {
                "treatment": c.treatment,
                "control": c.control,
                **lift_json(c),
                "revenue_per_user": None
                if c.revenue is None
                else {
                    "diff": c.revenue.diff,
                    "ci": interval_json(c.revenue.ci),
                    "t": c.revenue.t,
                    "df": c.revenue.df,
                    "p_value": c.revenue.p_value,
                    "p_adjusted": c.revenue.p_adjusted,
                    "significant": c.revenue.significant,
                },
                "mde_abs": c.mde_abs,
                "users_needed_per_arm": c.users_needed_per_arm,
                "message": c.message,
            }
            for c in res.comparisons
        ],
        "adjustment": res.adjustment,
        "srm": {
            "chi2": res.srm.chi2,
            "p_value": res.srm.p_value,
            "flagged": res.srm.flagged,
            "observed": dict(res.srm.observed),
            "expected": dict(res.srm.expected),
            "threshold": res.settings.srm_threshold,
        },
        "excluded_users": res.excluded_users,
        "verdict_kind": res.verdict_kind,
        "verdict": verdict_text(res),
        # The planned analysis (docs/EXPERIMENTS_METHODS.md): every figure /kpi ab shows.
        "decision": _decision_json(res),
    }


def _metric_json(m: MetricResult, result: ExperimentResult) -> dict[str, Any]:
    view = cuped_view(m, result)
    return {
        "metric": m.metric,
        "control_value": m.control_value,
        "treatment_value": m.treatment_value,
        "estimate": m.estimate,
        "ci": interval_json(m.ci),
        "rel_estimate": m.rel_estimate,
        "rel_ci": interval_json(m.rel_ci),
        "rel_ci_shown": relative_interval_agrees(m),
        "p_value": m.p_value,
        "p_adjusted": m.p_adjusted,
        "significant": m.significant,
        "direction": m.direction,
        "method": m.method,
        "standard_error": m.standard_error,
        "df": m.df,
        "cuped": None
        if m.cuped is None
        else {
            "theta": m.cuped.theta,
            "variance_reduction": m.cuped.variance_reduction,
            "unadjusted_estimate": m.cuped.unadjusted.value,
            "unadjusted_ci": None if view is None else interval_json(view.unadjusted_ci),
            "interval_narrowing": None if view is None else view.interval_narrowing,
        },
        "message": m.message,
    }


def _arm_json(a: ArmDecision, result: ExperimentResult) -> dict[str, Any]:
    return {
        "treatment": a.treatment,
        "decision": a.kind.value,
        "differs": a.differs,
        "primary": None if a.primary is None else _metric_json(a.primary, result),
        "guardrails": [_metric_json(g, result) for g in a.guardrails],
        "worse_guardrails": list(a.worse_guardrails),
        "mde": a.mde,
        "users_needed": None if a.users_needed is None else dict(a.users_needed),
        "message": a.message,
    }


def _decision_json(result: ExperimentResult) -> dict[str, Any] | None:
    d = result.decision
    if d is None:
        return None
    plan, prog = d.plan, d.progress
    return {
        "kind": d.kind.value,
        "best": d.best,
        "differing": list(d.differing),
        "alpha": d.alpha,
        "confidence_level": 1 - d.alpha,
        "method": SEQUENTIAL if prog.always_valid else FIXED,
        "mde_alpha": d.mde_alpha,
        "power": result.settings.power,
        "message": d.message,
        "plan": {
            "registered": plan.registered,
            "name": plan.name,
            "hypothesis": plan.hypothesis,
            "owner": plan.owner,
            "primary_metric": plan.primary_metric,
            "guardrail_metrics": list(plan.guardrails),
            "split": None if plan.split is None else dict(plan.split),
            "start_date": plan.start_date,
            "planned_end_date": plan.planned_end_date,
            "planned_users_per_arm": plan.planned_users_per_arm,
            "status": plan.status,
            "problem": plan.problem,
        },
        "progress": {
            "day": prog.day,
            "planned_days": prog.planned_days,
            "users": prog.users,
            "planned_users": prog.planned_users,
            "user_share": prog.user_share,
            "finished": prog.finished,
            "always_valid": prog.always_valid,
        },
        "arms": [_arm_json(a, result) for a in d.arms],
    }


def retention_json(a: RetentionAnswer) -> dict[str, Any]:
    r = a.report
    trend = r.trend
    return {
        "kind": "retention",
        "cohorts": [
            {
                "cohort_week": week,
                "cohort_size": int(r.cohort_sizes[week]),
                "retention": {
                    str(n): (None if math.isnan(v) else float(v))
                    for n, v in r.matrix.row(week).items()
                },
            }
            for week in r.cohorts
        ],
        "week1": {"rate": r.week1.rate, "users": r.week1.users, "cohorts": r.week1.cohorts},
        "week4": {"rate": r.week4.rate, "users": r.week4.users, "cohorts": r.week4.cohorts},
        "trend": None
        if trend is None
        else {
            "week_n": trend.week_n,
            "recent_rate": trend.recent.rate,
            "recent_cohorts": trend.recent.cohorts,
            "baseline_rate": trend.baseline.rate,
            "baseline_cohorts": trend.baseline.cohorts,
            "difference": trend.difference,
            "p_value": trend.p_value,
            "direction": trend.direction,
        },
    }
