"""/kpi revenue [window] [vs previous|vs last year]"""

from __future__ import annotations

from bot.core.questions import RevenueQuestion
from bot.slack.context import CommandContext

REFUSAL = (
    ":lock: Revenue figures aren't shared in this channel. Ask in one of the channels "
    "your workspace admins allowed, or ask them to add this one."
)


def handle(ctx: CommandContext, question: RevenueQuestion) -> None:
    if not ctx.settings.is_allowed(ctx.channel_id, ctx.user_id):
        ctx.say_private(REFUSAL)
        return
    ctx.publish(ctx.services.kpi.answer(question))
