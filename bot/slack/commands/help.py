"""/kpi help (and /kpi alone): usage, privately to the asker."""

from __future__ import annotations

from bot.core.questions import HelpQuestion
from bot.service import HelpAnswer
from bot.slack.context import CommandContext


def handle(ctx: CommandContext, question: HelpQuestion) -> None:
    ctx.reply_private(HelpAnswer(question.topic))
