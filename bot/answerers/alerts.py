"""``alert …``: recognised here, acted on by the Slack edge (``bot.slack.commands.alerts``)."""

from __future__ import annotations

from bot.answerers import AnswerContext
from bot.answers import AlertCommandAnswer
from bot.core.alerts import AlertCommand


def answer_alert_command(ctx: AnswerContext, command: AlertCommand) -> AlertCommandAnswer:
    return AlertCommandAnswer(command)
