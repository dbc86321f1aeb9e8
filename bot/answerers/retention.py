"""``retention [weeks]``: the most recent weekly signup cohorts."""

from __future__ import annotations

from bot.answerers import AnswerContext
from bot.answers import ErrorAnswer, RetentionAnswer
from bot.core.questions import RetentionQuestion
from bot.core.retention import retention_report


def answer_retention(
    ctx: AnswerContext, question: RetentionQuestion
) -> RetentionAnswer | ErrorAnswer:
    rows = ctx.reader.retention()
    if rows.empty:
        return ErrorAnswer(
            "empty",
            "There are no complete signup cohorts yet, so retention can't be shown.",
        )
    report = retention_report(rows, question.weeks)
    status = ctx.reader.data_status()
    return RetentionAnswer(question, report, ctx.freshness(status))
