"""``ab`` (the list) and ``ab <id>`` (one experiment's result).

One experiment is analysed against its plan (docs/EXPERIMENTS_METHODS.md): its
``ab_registry`` row, or the defaults of ``bot.core.plan.default_plan`` when it has none,
as of the data's last day, with the CUPED sums of ``ab_metrics`` when the mart has them.
"""

from __future__ import annotations

import math

from bot.answerers import AnswerContext
from bot.answers import ErrorAnswer, ExperimentAnswer, ExperimentListAnswer
from bot.core.metric_grammar import closest, did_you_mean
from bot.core.plan import ExperimentPlan, default_plan, plan_from_row, unreadable_plan
from bot.core.questions import ExperimentQuestion, escape_mrkdwn
from bot.core.stats import ExperimentSettings, VariantData, analyze_experiment
from bot.core.table import Rows
from bot.warehouse.base import CUPED_COLUMNS


def answer_experiments(
    ctx: AnswerContext, question: ExperimentQuestion
) -> ExperimentAnswer | ExperimentListAnswer | ErrorAnswer:
    if question.experiment_id is None:
        status = ctx.reader.data_status()
        return ExperimentListAnswer(tuple(ctx.reader.experiments()), ctx.freshness(status))
    known = {e.experiment_id: e for e in ctx.reader.experiments()}
    info = known.get(question.experiment_id)
    if info is None:
        names = ", ".join(f"`{name}`" for name in sorted(known)) or "none yet"
        near = closest(question.experiment_id, sorted(known))
        return ErrorAnswer(
            "unknown_experiment",
            f"I don't know an experiment called "
            f"`{escape_mrkdwn(question.experiment_id)}`.{did_you_mean(near)} "
            f"Known experiments: {names}.",
            f"/kpi ab {(near or sorted(known))[0]}" if known else "/kpi ab",
            choices=tuple(f"ab {name}" for name in near),
        )
    variants = variants_from_rows(ctx.reader.experiment_metrics(info.experiment_id))
    plan = plan_for(info.experiment_id, ctx.reader.experiment_registry(info.experiment_id))
    status = ctx.reader.data_status()
    result = analyze_experiment(
        info.experiment_id,
        variants,
        ExperimentSettings(alpha=question.alpha),
        excluded_users=info.excluded_users,
        plan=plan,
        # The data's last day, not today: progress and "has the plan ended" are about
        # the data the figures come from.
        as_of=status.last_day,
    )
    return ExperimentAnswer(question, info, result, ctx.freshness(status))


def plan_for(experiment_id: str, row: dict | None) -> ExperimentPlan:
    """The registry row's plan; the defaults without a row; for a row that can't be read,
    a plan whose ``problem`` makes the analysis say "Registry entry unusable: …"."""
    if row is None:
        return default_plan(experiment_id)
    plan = plan_from_row(row)
    if isinstance(plan, ExperimentPlan):
        return plan
    return unreadable_plan(experiment_id, plan)


def variants_from_rows(rows: Rows) -> list[VariantData]:
    return [
        VariantData(
            name=str(r["variant"]),
            users=int(r["users"]),
            converters=int(r["converters"]),
            revenue_sum=float(r["revenue_sum"]),
            revenue_sum_squares=float(r["revenue_sum_squares"]),
            **{column: _optional(r.get(column)) for column in CUPED_COLUMNS},
        )
        for r in rows.records()
    ]


def _optional(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None
