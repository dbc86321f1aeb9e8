"""/kpi retention [cohorts] — weekly signup cohorts as a heatmap plus a summary."""

from __future__ import annotations

from bot.core.questions import RetentionQuestion
from bot.slack.context import CommandContext


def handle(ctx: CommandContext, question: RetentionQuestion) -> None:
    ctx.publish(ctx.services.kpi.answer(question))
