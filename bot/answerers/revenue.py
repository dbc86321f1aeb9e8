"""``revenue [window] [vs …]``: the window's totals against the previous window."""

from __future__ import annotations

from bot.answerers import AnswerContext
from bot.answers import ErrorAnswer, RevenueAnswer
from bot.core.questions import RevenueQuestion
from bot.core.revenue import revenue_report
from bot.core.windows import span_text


def answer_revenue(ctx: AnswerContext, question: RevenueQuestion) -> RevenueAnswer | ErrorAnswer:
    status = ctx.reader.data_status()
    windows = [question.current, question.previous]
    if question.last_year is not None:
        windows.append(question.last_year)
    daily = ctx.reader.revenue_daily(min(w.start for w in windows), max(w.end for w in windows))
    report = revenue_report(
        daily,
        question.current,
        question.previous,
        question.last_year,
        status.first_day,
        status.last_day,
    )
    if not report.current.has_data:
        cover = (
            f"the data covers {status.first_day:%Y-%m-%d} to {status.last_day:%Y-%m-%d}"
            if status.first_day and status.last_day
            else "there is no revenue data yet"
        )
        w = question.current
        span = span_text(w.start, w.end)
        where = w.label if span in w.label else f"{w.label} ({span})"  # no echo twice
        return ErrorAnswer(
            "empty", f"No revenue data for {where}: {cover}.", "/kpi revenue last 30 days"
        )
    return RevenueAnswer(question, report, ctx.freshness(status))
