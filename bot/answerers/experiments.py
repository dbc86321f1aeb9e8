"""``ab`` (the list) and ``ab <id>`` (one experiment's result)."""

from __future__ import annotations

from bot.answerers import AnswerContext
from bot.answers import ErrorAnswer, ExperimentAnswer, ExperimentListAnswer
from bot.core.questions import ExperimentQuestion, escape_mrkdwn
from bot.core.stats import ExperimentSettings, VariantData, analyze_experiment


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
        return ErrorAnswer(
            "unknown_experiment",
            f"I don't know an experiment called "
            f"`{escape_mrkdwn(question.experiment_id)}`. Known experiments: {names}.",
            f"/kpi ab {sorted(known)[0]}" if known else "/kpi ab",
        )
    rows = ctx.reader.experiment_metrics(info.experiment_id)
    variants = [
        VariantData(
            name=str(r.variant),
            users=int(r.users),
            converters=int(r.converters),
            revenue_sum=float(r.revenue_sum),
            revenue_sum_squares=float(r.revenue_sum_squares),
        )
        for r in rows.itertuples(index=False)
    ]
    result = analyze_experiment(
        info.experiment_id,
        variants,
        ExperimentSettings(alpha=question.alpha),
        excluded_users=info.excluded_users,
    )
    status = ctx.reader.data_status()
    return ExperimentAnswer(question, info, result, ctx.freshness(status))
