"""/kpi ab [experiment] [--alpha 0.1] — an experiment's result, or the list of them."""

from __future__ import annotations

from bot.core.questions import ExperimentQuestion
from bot.slack.context import CommandContext


def handle(ctx: CommandContext, question: ExperimentQuestion) -> None:
    answer = ctx.services.kpi.answer(question)
    if question.experiment_id is None:
        ctx.reply_private(answer)  # the list is for the asker, not the channel
    else:
        ctx.publish(answer)
