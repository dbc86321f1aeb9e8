"""``help`` and ``digest …``: answered without the warehouse."""

from __future__ import annotations

from bot.answerers import AnswerContext
from bot.answers import DigestCommandAnswer, HelpAnswer
from bot.core.questions import DigestCommand, HelpQuestion


def answer_help(ctx: AnswerContext, question: HelpQuestion) -> HelpAnswer:
    return HelpAnswer(question.topic)


def answer_digest_command(ctx: AnswerContext, command: DigestCommand) -> DigestCommandAnswer:
    return DigestCommandAnswer(command)
